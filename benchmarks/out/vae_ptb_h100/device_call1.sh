#!/bin/bash
# Issue 14 on one GPU: the VAE/RNNLM cpu-preset table for seeds 0-2 and the annealing
# comparison, all at once; whatever has finished at the deadline comes back.
start=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
mkdir -p /tmp/bin ../shared; [ -e ../shared/data ] || ln -s $PWD/.gpudata ../shared/data
printf '#!/bin/bash\nexec python3 -m textrl "$@"\n' > /tmp/bin/textrl && chmod +x /tmp/bin/textrl
export PATH=/tmp/bin:$PATH
nvidia-smi --query-gpu=name,memory.total --format=csv > $OUT/gpu.txt
python3 -c "import torch; print(torch.__version__, torch.cuda.get_device_name())" >> $OUT/gpu.txt
if command -v nvidia-cuda-mps-control >/dev/null && nvidia-cuda-mps-control -d; then
  if timeout 30 python3 -c "import torch; torch.ones(1, device='cuda').sum().item()"; then
    echo "MPS on" >> $OUT/gpu.txt
  else
    echo quit | nvidia-cuda-mps-control; echo "MPS failed, off" >> $OUT/gpu.txt
  fi
else echo "no MPS" >> $OUT/gpu.txt; fi
R=/tmp/r; mkdir -p $R
for s in 0 1 2; do
  setsid python3 benchmarks/bench_vae.py --seeds $s --epochs ${EPOCHS:-4} --runs vae rnnlm --workers 2 \
    --importance-samples ${IW:-100} --scorer .gpudata/scorer --ptb ${PTB:-.gpudata/ptb} --out $R/vae_s$s \
    > $R/vae_s$s.log 2>&1 &
done
setsid python3 benchmarks/bench_vae_annealing.py --epochs ${EPOCHS:-4} --workers 10 --importance-samples ${IW:-100} \
  --ptb ${PTB:-.gpudata/ptb} --out $R/anneal > $R/anneal.log 2>&1 &
deadline=$((start + ${DEADLINE:-520}))
while [ $(date +%s) -lt $deadline ] && pgrep -f "benchmarks/bench_vae" >/dev/null; do
  sleep 5; echo "$(( $(date +%s) - start ))s: $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader)" >> $R/gpu_util.log
done
pkill -f "benchmarks/bench_vae"; pkill -f "python3 -m textrl"; sleep 2
echo "stopped at $(( $(date +%s) - start ))s" >> $R/gpu_util.log
cd /tmp && tar czf $OUT/vae_gpu.tgz --exclude='*.pt' r && ls -la $OUT
tail -5 /tmp/r/*.log
