"""Generator forward speed at the 64 preset on CPU, against a bare Conv3d measured in the same run.

    python bench/bench_generator.py [--threads 2] [--repeats 5] [--model weights] [--channels 256,256,96,64 ...]

Prints, per width of the 64 preset and for the shipped default model (weights/, the demo's), at
batches of 1, 4 (the demo's chunk) and 8: the time per call and per video, the achieved GFLOP/s
(conv and linear FLOPs counted from the layer shapes), and the GFLOP/s of one bare Conv3d shaped
like the generator's most expensive layer; the ratio of the two is the figure we track.  Last, the
model's whole `sample` call for 4 videos (the demo's path: seeds, noise inputs, uint8 frames).
With ``--channels``, also the model's generator with other per-stage channel counts (before its width,
as ``train.py --channels`` takes them; random weights, same cost): which capacity fits the demo's budget.
"""

import argparse
import dataclasses
import statistics
import time

import torch

from hrvgan import HRVGAN, Generator, ModelConfig


def count_flops(model: torch.nn.Module, *inputs) -> tuple[float, tuple]:
    """2 * multiply-adds of every Conv3d / ConvTranspose3d / Linear, and the costliest conv's shapes."""
    total, biggest = 0.0, (0.0, None)

    def hook(module, args, out):
        nonlocal total, biggest
        if isinstance(module, (torch.nn.Conv3d, torch.nn.ConvTranspose3d)):
            k = module.kernel_size[0] * module.kernel_size[1] * module.kernel_size[2]
            # Conv3d: every output element; ConvTranspose3d: every input element scatters a kernel.
            elems = out[0].numel() if isinstance(module, torch.nn.Conv3d) else args[0][0].numel()
            other = module.in_channels if isinstance(module, torch.nn.Conv3d) else module.out_channels
            flops = 2.0 * elems * other * k * out.shape[0]
            if isinstance(module, torch.nn.Conv3d) and flops > biggest[0]:
                biggest = (flops, (module.in_channels, module.out_channels, tuple(args[0].shape[2:])))
            total += flops
        elif isinstance(module, torch.nn.Linear):
            total += 2.0 * module.in_features * module.out_features * out.shape[0]

    handles = [m.register_forward_hook(hook) for m in model.modules()]
    with torch.inference_mode():
        model(*inputs)
    for h in handles:
        h.remove()
    return total, biggest[1]


def timed(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--widths", type=float, nargs="*", default=[1.0, 0.25],
                        help="plain widths of the 64 preset to time (none: --widths alone)")
    parser.add_argument("--model", default="weights", help="a saved model to time too ('' for none)")
    parser.add_argument("--channels", action="append", default=[], metavar="C1,C2,...",
                        help="also time --model's generator with these per-stage channels before its width "
                             "(comma-separated, one per stage; repeat the flag for more)")
    args = parser.parse_args()
    if args.channels and not args.model:
        parser.error("--channels varies --model's generator: give a --model.")
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, median of {args.repeats}")
    print("| generator | batch | ms / call | ms / video | GFLOP / video | G GFLOP/s | bare Conv3d GFLOP/s | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    generators = [(f"64 preset, width {w:g}", Generator(ModelConfig.from_preset("64", num_classes=4, width=w)))
                  for w in args.widths]
    model = HRVGAN.from_pretrained(args.model) if args.model else None
    if model is not None:
        generators.append((args.model, model.generator))
    for spec in args.channels:
        try:
            config = dataclasses.replace(model.config, channels=tuple(int(c) for c in spec.split(",")))
        except ValueError as e:
            parser.error(f"--channels {spec}: {e} (the model has {len(model.config.channels)} stages: "
                         f"{','.join(map(str, model.config.channels))}).")
        generators.append((f"{args.model}, channels {spec} (x{config.width:g}: "
                           f"{', '.join(map(str, config.stage_channels[1:]))})", Generator(config)))
    for name, g in generators:
        g, config = g.eval(), g.config
        for batch in (1, 4, 8):  # the pipeline runs chunks of 4: one video in the demo costs a batch of 4
            z, y = torch.randn(batch, config.latent_dim), torch.zeros(batch, dtype=torch.long)
            flops, (cin, cout, thw) = count_flops(g, z, y)
            with torch.inference_mode():
                t_g = timed(lambda: g(z, y), args.repeats)
                conv = torch.nn.Conv3d(cin, cout, 3, padding=1)
                x = torch.randn(batch, cin, *thw)
                t_c = timed(lambda: conv(x), args.repeats)
            conv_flops = 2.0 * batch * cout * thw[0] * thw[1] * thw[2] * cin * 27
            g_rate, c_rate = flops / t_g / 1e9, conv_flops / t_c / 1e9
            print(f"| {name} | {batch} | {t_g * 1e3:.1f} | {t_g * 1e3 / batch:.1f} | {flops / batch / 1e9:.2f} | "
                  f"{g_rate:.1f} | {c_rate:.1f} (Conv3d {cin}->{cout} at {thw}) | {g_rate / c_rate:.2f} |")
    if model is not None:
        # What the demo pays: seeds -> z (and noise inputs, for a g_noise model) -> generator -> uint8 frames.
        classes = model.class_names[0] if model.class_names else None
        t_s = timed(lambda: model.sample(classes=classes, seeds=[0, 1, 2, 3]), args.repeats)
        print(f"\n{args.model}: HRVGAN.sample of 4 videos (seeds, noise inputs: {model.config.g_noise}, "
              f"uint8 out): {t_s * 1e3:.1f} ms / call, {t_s * 1e3 / 4:.1f} ms / video")


if __name__ == "__main__":
    main()
