#!/bin/bash
# Issue 14, second call: 10 epochs, seeds 0-2, of the VAE with linear annealing and with
# free bits (annealing bench's schedules) and of the RNNLM; whatever finished comes back.
start=$(date +%s)
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1
mkdir -p /tmp/bin ../shared; [ -e ../shared/data ] || ln -s $PWD/.gpudata ../shared/data
printf '#!/bin/bash\nexec python3 -m textrl "$@"\n' > /tmp/bin/textrl && chmod +x /tmp/bin/textrl
export PATH=/tmp/bin:$PATH
nvidia-cuda-mps-control -d && echo "MPS on" > $OUT/gpu2.txt
R=/tmp/r2; mkdir -p $R
P=.gpudata/ptb
for s in 0 1 2; do
  setsid python3 benchmarks/bench_vae_annealing.py --schedules linear free-bits --word-keep 1.0 \
    --epochs 10 --seed $s --workers 2 --importance-samples 100 --ptb $P --out $R/long_s$s \
    > $R/long_s$s.log 2>&1 &
  (python3 benchmarks/bench_vae.py --seeds $s --epochs 10 --runs rnnlm --workers 1 --no-score \
     --ptb $P --out $R/lm_s$s && textrl evaluate $R/lm_s$s/rnnlm-seed$s --json --samples 1000 \
     --checkpoint best > $R/lm_s$s/eval.json) > $R/lm_s$s.log 2>&1 &
done
deadline=$((start + ${DEADLINE:-390}))
while [ $(date +%s) -lt $deadline ] && pgrep -f "benchmarks/bench_vae|python3 -m textrl" >/dev/null; do
  sleep 5; echo "$(( $(date +%s) - start ))s: $(nvidia-smi --query-gpu=utilization.gpu,memory.used --format=csv,noheader)" >> $R/gpu_util.log
done
pkill -f "benchmarks/bench_vae"; pkill -f "python3 -m textrl"; sleep 2
echo "stopped at $(( $(date +%s) - start ))s" >> $R/gpu_util.log
cd /tmp && tar czf $OUT/vae_gpu2.tgz --exclude='*.pt' r2 && ls -la $OUT
