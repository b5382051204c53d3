"""Whether bf16 autocast pays on this CPU: one Conv3d's forward and backward, fp32 against bf16, interleaved.

    python bench/bench_bf16.py [--repeats 3]

On a CPU with bf16 instructions (AVX-512 BF16 or AMX) bf16 is the faster; on one without, PyTorch emulates
them and bf16 is many times slower.  The trainer asks `cpu_has_bf16` and trains in fp32 where it says no
(HRVGAN_CPU_BF16=1 or 0 overrides it); this prints its answer beside the measured ratio, so the two can be
checked against each other on any machine.
"""

import argparse
import time

import torch

from hrvgan.training.loop import cpu_has_bf16


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    conv = torch.nn.Conv3d(32, 32, 3, padding=1)                  # a 32x32 stage of the recipe, batch 2
    x = torch.randn(2, 32, 16, 32, 32, requires_grad=True)

    def step(bf16: bool) -> float:
        t = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            y = conv(x)
        y.float().square().mean().backward()
        return time.perf_counter() - t

    step(False), step(True)                                        # oneDNN builds its kernels on first use
    fp32 = bf16 = 0.0
    for _ in range(args.repeats):                                  # interleaved: a busy machine slows both alike
        fp32 += step(False)
        bf16 += step(True)
    print(f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
          f"{torch.get_num_threads()} threads")
    print(f"Conv3d 32->32 at (16, 32, 32), batch 2, forward + backward: fp32 {1e3 * fp32 / args.repeats:.0f} ms, "
          f"bf16 autocast {1e3 * bf16 / args.repeats:.0f} ms: bf16 {bf16 / fp32:.2f}x the time of fp32")
    print(f"cpu_has_bf16(): {cpu_has_bf16()} (the trainer {'keeps' if cpu_has_bf16() else 'drops'} bf16 on this CPU)")


if __name__ == "__main__":
    main()
