import pytest
import torch
import torch.nn.functional as F

from hrvgan import Discriminator, Generator, ModelConfig
from hrvgan.networks import (FLOW_SCALE, frame_differences, lucas_kanade, minibatch_stddev, motion_support, pixel_norm,
                             warp_frame)
from hrvgan.training.warmstart import grow_critic_state

# Paper Table 1, the 256x256x32 generator: (C, T, H, W) after each stage.
TABLE_1 = [(128, 8, 8, 8), (128, 8, 16, 16), (64, 8, 32, 32), (32, 16, 64, 64), (16, 16, 128, 128), (8, 32, 256, 256)]


def test_paper_256_stage_shapes_match_table_1():
    config = ModelConfig.from_preset("paper-256", num_classes=101)
    with torch.device("meta"):  # full-size shapes without allocating a 256x256x32 video
        g = Generator(config)
        seen = []
        for stage in g.stages:
            stage.register_forward_hook(lambda m, i, o: seen.append(tuple(o.shape[1:])))
        inputs = []
        g.input.register_forward_hook(lambda m, i, o: inputs.append(tuple(o.shape[1:])))
        video = g(torch.randn(2, 128), torch.zeros(2, dtype=torch.long))
    assert config.latent_dim == 128
    assert inputs == [(128, 4, 4, 4)]
    assert seen == TABLE_1
    assert tuple(video.shape) == (2, 3, 32, 256, 256)
    assert config.stage_shapes()[1:] == TABLE_1


@pytest.mark.parametrize("preset,shape", [("128", (3, 32, 128, 128)), ("64", (3, 16, 64, 64)), ("tiny", (3, 8, 32, 32))])
def test_presets_output_shape(preset, shape):
    config = ModelConfig.from_preset(preset, num_classes=3)
    with torch.device("meta"):
        v = Generator(config)(torch.randn(1, config.latent_dim), torch.tensor([2]))
    assert tuple(v.shape[1:]) == shape


def test_generator_range_and_discriminator_scores():
    config = ModelConfig.from_preset("tiny", num_classes=3)
    g, d = Generator(config), Discriminator(config)
    z, y = torch.randn(5, config.latent_dim) * 50, torch.tensor([0, 1, 2, 0, 1])
    v = g(z, y)
    assert v.shape == (5, 3, 8, 32, 32)
    assert v.min() >= -1 and v.max() <= 1
    scores = d(v, y)
    assert scores.shape == (5,)
    # Class conditioning changes the output.
    assert not torch.allclose(g(z, torch.zeros(5, dtype=torch.long)), g(z, torch.full((5,), 2)))
    assert not torch.allclose(d(v, torch.zeros(5, dtype=torch.long)), d(v, torch.full((5,), 2)))


def test_unconditional_networks():
    config = ModelConfig.from_preset("tiny")
    g, d = Generator(config), Discriminator(config)
    assert g.embed is None and d.embed is None
    v = g(torch.randn(2, config.latent_dim))
    assert d(v).shape == (2,)
    with pytest.raises(ValueError, match="unconditional"):
        g(torch.randn(2, config.latent_dim), torch.tensor([0, 0]))


def test_shape_checks_name_the_problem():
    config = ModelConfig.from_preset("tiny", num_classes=2)
    g, d = Generator(config), Discriminator(config)
    with pytest.raises(ValueError, match=r"z must be shaped \(B, 16\)"):
        g(torch.randn(2, 7), torch.tensor([0, 1]))
    with pytest.raises(ValueError, match="class-conditional"):
        g(torch.randn(2, 16))
    with pytest.raises(ValueError, match="video must be shaped"):
        d(torch.randn(2, 3, 4, 32, 32), torch.tensor([0, 1]))


def test_width_multiplier_scales_channels():
    full = ModelConfig.from_preset("64", num_classes=4)
    quarter = ModelConfig.from_preset("64", num_classes=4, width=0.25)
    assert quarter.stage_channels == (32, 32, 32, 16, 8)
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert n(Generator(quarter)) < n(Generator(full)) / 4  # the conv weights shrink by ~16x


def test_batch_norm_option():
    config = ModelConfig.from_preset("tiny", g_norm="batch")
    g = Generator(config)
    assert any(isinstance(m, torch.nn.BatchNorm3d) for m in g.modules())
    assert g(torch.randn(2, config.latent_dim)).shape == (2, 3, 8, 32, 32)


def test_config_validation_messages():
    with pytest.raises(ValueError, match="unknown preset"):
        ModelConfig.from_preset("512")
    with pytest.raises(ValueError, match="resolution 48"):
        ModelConfig.from_preset("64", resolution=48)
    with pytest.raises(ValueError, match="frames 32 does not match"):
        ModelConfig.from_preset("64", frames=32)
    with pytest.raises(ValueError, match="class_names has 2 names"):
        ModelConfig.from_preset("tiny", num_classes=3, class_names=["a", "b"])
    with pytest.raises(ValueError, match="g_norm"):
        ModelConfig.from_preset("tiny", g_norm="layer")
    assert ModelConfig.from_preset("tiny", num_classes=2).class_names == ("0", "1")


def test_config_dict_round_trip():
    c = ModelConfig.from_preset("64", class_names=["a", "b"], width=0.5)
    assert ModelConfig.from_dict(c.to_dict()) == c
    with pytest.raises(ValueError, match=r"unknown key\(s\) dropout"):
        ModelConfig.from_dict({**c.to_dict(), "dropout": 0.1})


def test_pixel_norm_unit_rms():
    x = torch.randn(2, 6, 3, 4, 4) * 7
    rms = pixel_norm(x).pow(2).mean(dim=1).sqrt()
    assert torch.allclose(rms, torch.ones_like(rms), atol=1e-4)


def test_minibatch_stddev_by_hand():
    x = torch.zeros(2, 1, 1, 1, 2)
    x[0, 0, 0, 0] = torch.tensor([1.0, 3.0])
    x[1, 0, 0, 0] = torch.tensor([3.0, 3.0])
    # Per position std over the 2 videos: |1-3|/2 = 1 and 0; mean = 0.5.
    y = minibatch_stddev(x, group_size=4)
    assert y.shape == (2, 2, 1, 1, 2)
    assert torch.allclose(y[:, 1], torch.full((2, 1, 1, 2), 0.5), atol=1e-4)
    # A batch of 3 with group 2: the group shrinks to 1, and the std of one video is 0.
    assert torch.allclose(minibatch_stddev(torch.randn(3, 2, 1, 2, 2), 2)[:, 2], torch.tensor(1e-4), atol=1e-3)


def test_context_encoder_levels_match_the_generator_stages():
    from hrvgan.networks import context_clip

    c = ModelConfig.from_preset("64", num_classes=2, width=0.125, context_frames=8)
    g = Generator(c)
    ctx = torch.rand(2, 3, 8, 64, 64) * 2 - 1
    clip, mask = context_clip(ctx, c.frames)
    assert mask[:, 0, :, 0, 0].tolist() == [[1.0] * 8 + [0.0] * 8] * 2
    assert torch.equal(clip[:, :, 8:], ctx[:, :, -1:].expand(-1, -1, 8, -1, -1))   # the future starts as the last frame
    levels = g.encoder(clip, mask)
    assert [tuple(f.shape[1:]) for f in levels] == c.stage_shapes()


def test_a_fresh_predictor_copies_the_last_frame_and_generation_is_unchanged():
    c = ModelConfig.from_preset("tiny", num_classes=2, context_frames=3)
    torch.manual_seed(0)
    g = Generator(c)
    plain = Generator(ModelConfig.from_preset("tiny", num_classes=2))
    missing = plain.load_state_dict(g.state_dict(), strict=False)
    assert not missing.missing_keys                                   # generation path = a generation-only G
    z, labels, ctx = torch.randn(2, c.latent_dim), torch.tensor([0, 1]), torch.rand(2, 3, 3, 32, 32) * 2 - 1
    assert torch.equal(g(z, labels), plain(z, labels))               # no context: the encoder is not run
    out = g(z, labels, context=ctx)
    assert (out[:, :, 3:] - ctx[:, :, -1:]).abs().max() < 0.04       # alpha ~ 0.018: a copy of the last frame
    out.square().mean().backward()
    assert g.encoder.skips[-1].weight.grad.abs().sum() > 0           # ... and every part learns from step one
    assert g.to_alpha.weight.grad.abs().sum() > 0
    with torch.no_grad():
        for skip in g.encoder.skips:
            skip.weight.normal_()
        g.to_alpha.bias.fill_(2.0)
    a, b = g(z, labels, context=ctx), g(z, labels, context=ctx.flip(0))
    assert not torch.equal(a[:, :, 3:], b[:, :, 3:])                 # once trained, the context matters


def test_warp_frame_moves_pixels_by_the_flow():
    frame = torch.rand(2, 3, 1, 8, 8)
    flow = torch.zeros(2, 2, 3, 8, 8)
    assert torch.allclose(warp_frame(frame, flow), frame.expand(2, 3, 3, 8, 8), atol=1e-6)   # still: a copy
    flow[:, 0, 1] = 1.0                                                  # frame 1: sample one pixel to the right
    flow[:, 1, 2] = -2.0                                                 # frame 2: two pixels up
    out = warp_frame(frame, flow)
    assert torch.allclose(out[:, :, 1, :, :-1], frame[:, :, 0, :, 1:], atol=1e-6)
    assert torch.allclose(out[:, :, 1, :, -1], frame[:, :, 0, :, -1], atol=1e-6)           # the border repeats
    assert torch.allclose(out[:, :, 2, 2:], frame[:, :, 0, :-2], atol=1e-6)
    flow[:, 0, 0] = 0.5                                                  # half a pixel: bilinear
    half = warp_frame(frame, flow)[:, :, 0, :, :-1]
    assert torch.allclose(half, (frame[:, :, 0, :, :-1] + frame[:, :, 0, :, 1:]) / 2, atol=1e-6)


def test_a_fresh_warping_predictor_copies_the_last_frame_and_learns_motion():
    c = ModelConfig.from_preset("tiny", num_classes=2, context_frames=3, warp=True)
    with pytest.raises(ValueError, match="lacks warp"):          # never silently today's default
        ModelConfig.from_dict({k: v for k, v in c.to_dict().items() if k != "warp"})
    torch.manual_seed(0)
    g = Generator(c)
    z, labels, ctx = torch.randn(2, c.latent_dim), torch.tensor([0, 1]), torch.rand(2, 3, 3, 32, 32) * 2 - 1
    out = g(z, labels, context=ctx)
    assert (out[:, :, 3:] - ctx[:, :, -1:]).abs().max() < 0.04       # zero flow, alpha ~ 0: copy-last
    out.square().mean().backward()
    assert g.to_flow.weight.grad.abs().sum() > 0                      # the flow learns from step one
    with torch.no_grad():
        g.to_flow.bias.copy_(torch.tensor([1 / FLOW_SCALE, 0.0]))     # every pixel from one to its right
        g.to_alpha.bias.copy_(torch.tensor([-30.0, 0.0, -30.0]))      # every pixel from the moved layer
    shifted = g(z, labels, context=ctx)
    assert torch.allclose(shifted[:, :, 3:, :, :-1], ctx[:, :, -1:, :, 1:].expand(2, 3, 5, 32, 31), atol=1e-5)
    with torch.no_grad():
        g.to_alpha.bias.copy_(torch.tensor([30.0, 0.0, -30.0]))       # the still layer: exact, whatever the flow
    assert torch.equal(g(z, labels, context=ctx)[:, :, 3:], ctx[:, :, -1:].expand(2, 3, 5, 32, 32))
    assert Generator(ModelConfig.from_preset("tiny", context_frames=3)).to_flow is None


def test_warp_support_moves_pixels_only_near_where_the_context_moved():
    c = ModelConfig.from_preset("tiny", num_classes=2, context_frames=3, warp=True, warp_support=2)
    g = Generator(c)
    ctx = torch.rand(1, 3, 1, 32, 32).expand(1, 3, 3, 32, 32).clone() * 2 - 1   # a still, textured scene...
    ctx[:, :, 1:, 10:14, 10:14] = 1.0                                            # ...where one square appears
    support = motion_support(ctx, radius=2)
    assert support.shape == (1, 1, 1, 32, 32)
    assert support[..., 8:16, 8:16].min() == 1 and support[..., :7, :].max() == 0 and support[..., 17:, :].max() == 0
    with torch.no_grad():
        g.to_flow.bias.copy_(torch.tensor([1 / FLOW_SCALE, 0.0]))     # every pixel asks for the one to its right
        g.to_alpha.bias.copy_(torch.tensor([-30.0, 0.0, -30.0]))      # and comes from the moved layer
    z, labels = torch.randn(1, c.latent_dim), torch.tensor([1])
    out = g(z, labels, context=ctx)[:, :, 3:]
    last = ctx[:, :, -1:].expand_as(out)
    assert torch.allclose(out[..., 17:, :], last[..., 17:, :], atol=1e-5)         # the still wall stays put
    assert torch.allclose(out[..., 12, 8:13], last[..., 12, 9:14], atol=1e-5)     # the square's pixels move
    free = Generator(ModelConfig.from_preset("tiny", num_classes=2, context_frames=3, warp=True))
    free.load_state_dict(g.state_dict())
    moved = free(z, labels, context=ctx)[:, :, 3:]
    assert torch.allclose(moved[..., 17:, :-1], last[..., 17:, 1:], atol=1e-5)  # without support the wall shifts too
    with pytest.raises(ValueError, match="warp_support 2 limits a predicted flow: it needs warp: true"):
        ModelConfig.from_preset("tiny", context_frames=3, warp_support=2)


def _texture(size: int, seed: int = 0) -> torch.Tensor:
    """A smooth random grey texture (1, 3, 1, size, size) in [-1, 1]: what Lucas-Kanade can follow."""
    g = torch.Generator().manual_seed(seed)
    x = F.avg_pool2d(torch.rand(1, 1, size, size, generator=g), 5, stride=1, padding=2, count_include_pad=False)
    x = (x - x.mean()) / x.std() * 0.5
    return x.clamp(-1, 1).expand(1, 3, size, size)[:, :, None]


def test_lucas_kanade_finds_a_translation_and_no_motion_on_a_flat_wall():
    frame = _texture(48)
    truth = torch.tensor([1.5, -2.25]).view(1, 2, 1, 1, 1)
    shifted = warp_frame(frame, truth.expand(1, 2, 1, 48, 48))         # shifted(p) = frame(p + truth)
    flow = lucas_kanade(frame[:, :, 0], shifted[:, :, 0])
    inner = flow[..., 8:-8, 8:-8]                                        # the border repeats: no motion to see there
    assert (inner - truth[:, :, 0]).abs().median() < 0.1
    assert (inner - truth[:, :, 0]).abs().amax(dim=1).quantile(0.9) < 0.3
    flat = torch.zeros(1, 3, 48, 48)
    assert lucas_kanade(flat, flat + 0.01).abs().max() < 1e-3            # no gradient, no motion (eps)


def test_warp_prior_carries_the_contexts_last_motion_on():
    c = ModelConfig.from_preset("tiny", num_classes=2, context_frames=3, warp=True, warp_prior=True)
    with pytest.raises(ValueError, match="warp_prior carries the context's last motion on: it needs warp"):
        ModelConfig.from_preset("tiny", context_frames=3, warp_prior=True)
    torch.manual_seed(0)
    g = Generator(c)
    scene = _texture(48, seed=1)
    walk = lambda t: warp_frame(scene, torch.tensor([-1.0 * t, 0.0]).view(1, 2, 1, 1, 1).expand(1, 2, 1, 48, 48))
    clip = torch.cat([walk(t) for t in range(8)], dim=2)[..., 8:40, 8:40]   # the texture moves right 1 px a frame
    ctx, future = clip[:, :, :3], clip[:, :, 3:]
    z, labels = torch.randn(1, c.latent_dim), torch.tensor([1])
    out = g(z, labels, context=ctx)[:, :, 3:]       # fresh: to_flow is zero and the moved layer leads, the prior moves
    inner = (slice(None),) * 3 + (slice(4, -4), slice(8, -4))           # away from the pixels that enter at the left
    copy_last = (ctx[:, :, -1:] - future).abs()[inner].mean()
    assert (out - future).abs()[inner].mean() < 0.2 * copy_last
    assert torch.equal(g.prior_steps.detach(), torch.tensor([0.0, 0, 0, 1, 2, 3, 4, 5]))  # 1 frame on after the context
    out.square().mean().backward()
    assert g.prior_steps.grad[3:].abs().min() > 0                      # the pace of each predicted frame is learned
    still = Generator(ModelConfig.from_preset("tiny", num_classes=2, context_frames=3, warp=True))
    still.load_state_dict({k: v for k, v in g.state_dict().items() if k != "prior_steps"})
    assert torch.allclose(still(z, labels, context=ctx)[:, :, 3:], ctx[:, :, -1:].expand_as(out), atol=0.05)
    with torch.no_grad():
        g.to_alpha.bias.copy_(torch.tensor([30.0, -30.0, -30.0]))       # the still layer: copy-last whatever the prior
    assert torch.allclose(g(z, labels, context=ctx)[:, :, 3:], ctx[:, :, -1:].expand_as(out), atol=1e-5)


def test_context_errors_name_the_problem():
    g = Generator(ModelConfig.from_preset("tiny", context_frames=3))
    with pytest.raises(ValueError, match=r"context must be shaped \(B, 3, 3, 32, 32\)"):
        g(torch.randn(1, 16), context=torch.zeros(1, 3, 4, 32, 32))
    with pytest.raises(ValueError, match="no context encoder"):
        Generator(ModelConfig.from_preset("tiny"))(torch.randn(1, 16), context=torch.zeros(1, 3, 3, 32, 32))
    with pytest.raises(ValueError, match="context_frames must be in"):
        ModelConfig.from_preset("tiny", context_frames=8)
    assert ModelConfig.from_preset("tiny", context_frames=3).predicted_frames == 5
    assert ModelConfig.from_preset("tiny").predicted_frames == 0


def test_diffaugment_is_one_transform_per_clip_and_differentiable():
    from hrvgan.augment import augment, cutout, parse_policy, translation

    torch.manual_seed(0)
    x = torch.rand(6, 3, 4, 32, 32) * 2 - 1
    moved = translation(x)
    for i in range(6):   # the same shift in every frame: frame t of the output is frame t of the input, shifted alike
        diff = [(moved[i, :, t] - translation_like(x[i, :, t], moved[i, :, 0], x[i, :, 0])).abs().max() for t in range(4)]
        assert max(diff) < 1e-6
    holes = cutout(torch.ones(6, 3, 4, 32, 32))
    assert torch.equal(holes[:, :, 0], holes[:, :, 3])                   # the same square in every frame
    assert ((holes[:, 0, 0] == 0).float().mean(dim=(1, 2)) == 0.25).all()  # half the side: a quarter of the area
    x.requires_grad_(True)
    augment(x, "color,translation,cutout").sum().backward()
    assert x.grad.abs().sum() > 0
    assert torch.equal(augment(x, ""), x)
    with pytest.raises(ValueError, match="unknown augmentation"):
        parse_policy("color,zoom")


def translation_like(frame, moved_first, first):
    """Find the (dy, dx) that maps frame 0 to its shifted copy and apply it to another frame."""
    import torch.nn.functional as F

    padded = F.pad(first, [8, 8, 8, 8])
    for dy in range(-4, 5):
        for dx in range(-4, 5):
            cand = padded[:, 8 + dy:8 + dy + 32, 8 + dx:8 + dx + 32]
            if torch.allclose(cand, moved_first, atol=1e-6):
                return F.pad(frame, [8, 8, 8, 8])[:, 8 + dy:8 + dy + 32, 8 + dx:8 + dx + 32]
    raise AssertionError("not a translation")


def test_a_motion_critic_sees_frame_differences_and_starts_as_the_plain_one():
    video = torch.rand(4, 3, 8, 32, 32) * 2 - 1
    diff = frame_differences(video)
    assert not diff[:, :, 0].any() and torch.equal(diff[:, :, 3], video[:, :, 3] - video[:, :, 2])
    cfg = ModelConfig.from_preset("tiny", num_classes=2)
    torch.manual_seed(0)
    plain = Discriminator(cfg).eval()
    moving = Discriminator(ModelConfig.from_preset("tiny", num_classes=2, d_motion=True)).eval()
    assert moving.from_rgb.weight.shape[1] == 6
    moving.load_state_dict(grow_critic_state(plain.state_dict(), moving))
    labels = torch.tensor([0, 1, 0, 1])
    assert torch.allclose(moving(video, labels), plain(video, labels), atol=1e-6)   # the same scores at first
    # ...and it can learn from flicker: the difference inputs get a gradient that a still clip would not give.
    flicker = video.clone()
    flicker[:, :, 1::2] *= -1
    moving(flicker, labels).sum().backward()
    assert moving.from_rgb.weight.grad[:, 3:].abs().sum() > 0
    still = video[:, :, :1].expand_as(video).contiguous()
    moving.zero_grad()
    moving(still, labels).sum().backward()
    assert not moving.from_rgb.weight.grad[:, 3:].any()
    assert grow_critic_state(moving.state_dict(), moving)["from_rgb.weight"].shape[1] == 6   # already wide: kept
    # Differences over 2 and 4 frames too (motion_strides): a limb that sweeps shows as one large shape.
    assert torch.equal(frame_differences(video, 4)[:, :, 5], video[:, :, 5] - video[:, :, 1])
    assert not frame_differences(video, 4)[:, :, :4].any()
    strided = Discriminator(ModelConfig.from_preset("tiny", num_classes=2, d_motion=True, motion_strides=(1, 2, 4))).eval()
    assert strided.from_rgb.weight.shape[1] == 12
    strided.load_state_dict(grow_critic_state(moving.state_dict(), strided))
    assert torch.allclose(strided(video, labels), moving(video, labels), atol=1e-6)
    with pytest.raises(ValueError, match="motion_strides must be distinct frame gaps between 1 and 7"):
        ModelConfig.from_preset("tiny", d_motion=True, motion_strides=(1, 8))


def test_a_patch_critic_starts_as_the_plain_one_and_scores_every_neighbourhood():
    cfg = ModelConfig.from_preset("tiny", num_classes=2)
    torch.manual_seed(0)
    plain = Discriminator(cfg).eval()
    patchy = Discriminator(ModelConfig.from_preset("tiny", num_classes=2, d_patch=True)).eval()
    missing, unexpected = patchy.load_state_dict(plain.state_dict(), strict=False)
    assert sorted(missing) == ["patch_head.bias", "patch_head.weight"] and not unexpected
    video, labels = torch.rand(4, 3, 8, 32, 32) * 2 - 1, torch.tensor([0, 1, 0, 1])
    assert torch.equal(patchy(video, labels), plain(video, labels))              # a zero head: the same scores
    patchy(video, labels).sum().backward()
    assert patchy.patch_head.weight.grad.abs().sum() > 0                          # ...and it learns
    with torch.no_grad():
        patchy.patch_head.bias.fill_(0.5)                                         # the mean over neighbourhoods
        assert torch.allclose(patchy(video, labels), plain(video, labels) + 0.5, atol=1e-6)
        patchy.patch_head.weight.normal_()
        # One neighbourhood changed: the patch term moves, by a part of what a whole-clip change would move it.
        local = video.clone()
        local[:, :, :, :8, :8] = 1.0
        head = lambda v: patchy(v, labels) - plain(v, labels)  # noqa: E731
        assert not torch.allclose(head(local), head(video))


def test_replicate_time_padding_keeps_a_still_clip_still_to_its_ends():
    from hrvgan.networks import GeneratorStage
    torch.manual_seed(0)
    still = torch.rand(2, 8, 1, 8, 8).expand(2, 8, 4, 8, 8)        # the same frame 4 times
    for padding, stays_still in (("zeros", False), ("replicate", True)):
        stage = GeneratorStage(8, 8, temporal_upsample=True, norm="pixel", time_padding=padding)
        out = stage(still)
        assert out.shape == (2, 8, 8, 16, 16)
        assert torch.allclose(out, out[:, :, :1].expand_as(out), atol=1e-5) == stays_still
    with pytest.raises(ValueError, match="time_padding: .reflect. is not allowed"):
        ModelConfig.from_preset("tiny", time_padding="reflect")
    g = Generator(ModelConfig.from_preset("tiny", num_classes=2, time_padding="replicate"))
    assert g(torch.randn(2, 16), torch.tensor([0, 1])).shape == (2, 3, 8, 32, 32)


def test_circular_time_padding_renders_the_steady_state_of_the_loop_at_every_frame():
    """A replicate-padded render of the looped code is the loop's steady state only away from its ends; a circular
    one is that steady state at every frame, and exactly periodic."""
    torch.manual_seed(0)
    circular = Generator(ModelConfig.from_preset("tiny", num_classes=2, time_padding="circular"))
    replicate = Generator(ModelConfig.from_preset("tiny", num_classes=2, time_padding="replicate"))
    replicate.load_state_dict(circular.state_dict())
    z, y = torch.randn(2, 16), torch.tensor([0, 1])
    with torch.no_grad():
        one, three = circular(z, y), circular(z, y, frames=24)
        steady = replicate(z, y, frames=40)
    for k in range(3):
        assert torch.allclose(three[:, :, 8 * k:8 * k + 8], one, atol=1e-5)
    assert torch.allclose(steady[:, :, 16:24], one, atol=1e-5)            # the middle of a long replicate render
    assert not torch.allclose(steady[:, :, :8], one, atol=1e-3)           # ... not its ends
    assert not torch.allclose(steady[:, :, 32:], one, atol=1e-3)
    with pytest.raises(ValueError, match="whole loops"):
        circular(z, y, frames=12)
    with pytest.raises(ValueError, match="circular time padding makes every video a loop"):
        ModelConfig.from_preset("tiny", time_padding="circular", context_frames=4)
    config = ModelConfig.from_preset("tiny", time_padding="circular", time_crop=8)
    assert (config.window_slack, config.render_frames(), config.render_frames(12)) == (7, 8, 16)
    config = ModelConfig.from_preset("tiny", time_padding="replicate", time_crop=8)
    assert (config.window_slack, config.render_frames(), config.render_frames(12)) == (8, 16, 20)


def test_noise_inputs_start_silent_then_add_fresh_grain():
    plain = ModelConfig.from_preset("tiny", num_classes=2, time_padding="replicate")
    noisy = ModelConfig.from_preset("tiny", num_classes=2, time_padding="replicate", g_noise=True)
    torch.manual_seed(0)
    g = Generator(plain)
    gn = Generator(noisy)
    missing = gn.load_state_dict(g.state_dict(), strict=False).missing_keys
    assert sorted(missing) == [f"stages.{i}.noise_strength" for i in range(len(gn.stages))]
    z, y = torch.randn(2, 16), torch.tensor([0, 1])
    assert torch.equal(gn(z, y), g(z, y))                       # zero strengths: the trained generator's videos
    with torch.no_grad():
        for stage in gn.stages:
            stage.noise_strength.fill_(0.5)
    a, b = gn(z, y), gn(z, y)
    assert (a - b).abs().mean() > 1e-3                           # drawn afresh on every call
    noise = gn.make_noise(2, torch.Generator().manual_seed(1))
    assert [tuple(n.shape) for n in noise] == [(2, *s) for s in gn.noise_shapes()]
    assert gn.noise_shapes()[-1] == (2, 8, 32, 32)               # one image per conv at the finest stage
    assert torch.equal(gn(z, y, noise=noise), gn(z, y, noise=noise))
    changes = (a[:, :, 1:] - a[:, :, :-1]).abs().mean()
    assert changes > (g(z, y)[:, :, 1:] - g(z, y)[:, :, :-1]).abs().mean()   # grain changes frame to frame
    with pytest.raises(ValueError, match="noise must be 3 tensors"):
        gn(z, y, noise=noise[:2])
    assert g.make_noise(2) is None and g.noise_shapes() == []
    # One place draws the noise: a call without it is the call with make_noise's draw from the same RNG state.
    torch.manual_seed(3)
    drawn = gn(z, y)
    torch.manual_seed(3)
    assert torch.equal(drawn, gn(z, y, noise=gn.make_noise(2)))
    with pytest.raises(ValueError, match="this stage has noise inputs"):
        gn.stages[0](torch.randn(2, gn.stages[0].conv1.in_channels, 4, 4, 4))


def background_generator():
    """A tiny generator with a background stream, two codes, their labels and noise: (g, z, y, noise)."""
    config = ModelConfig.from_preset("tiny", num_classes=2, time_padding="replicate", g_noise=True, g_background=True)
    torch.manual_seed(0)
    g = Generator(config)
    return g, torch.randn(2, 16), torch.tensor([0, 1]), g.make_noise(2, torch.Generator().manual_seed(1))


def test_a_background_stream_shows_one_still_frame_where_the_mask_is_off():
    g, z, y, noise = background_generator()
    assert g.noise_shapes()[-1] == (1, 8, 32, 32)                     # the still frame's grain: one image per frame
    video, mask = g(z, y, noise=noise, return_mask=True)
    assert mask.shape == (2, 1, 8, 32, 32) and torch.allclose(mask, torch.full_like(mask, 0.9526), atol=1e-4)
    assert torch.equal(video, g(z, y, noise=noise))                    # return_mask changes nothing else
    with torch.no_grad():
        g.to_mask.bias.fill_(-3.0)                                    # nothing drawn: the still frame alone
    still = g(z, y, noise=noise)
    assert torch.allclose(still, still[:, :, :1].expand_as(still), atol=1e-6)   # no grain yet: every frame the same
    assert torch.allclose(still[:, :, 0], g.background(g.mapping(z, y))[:, :, 0], atol=1e-6)
    assert (still[0] - still[1]).abs().mean() > 1e-3                   # each code its own wall
    with torch.no_grad():
        g.background_grain.fill_(0.1)
    grainy = g(z, y, noise=noise)
    assert torch.allclose(grainy - still, 0.1 * noise[-1].expand_as(still), atol=1e-5)  # the grain, frame by frame
    with torch.no_grad():
        g.to_mask.bias.fill_(3.0)                                     # everything drawn: the video stream alone
    drawn = g(z, y, noise=noise)
    plain = Generator(ModelConfig.from_preset("tiny", num_classes=2, time_padding="replicate", g_noise=True))
    missing = plain.load_state_dict(g.state_dict(), strict=False)
    assert torch.allclose(drawn, plain(z, y, noise=noise[:-1]), atol=1e-6)
    assert {k.split(".")[0] for k in missing.unexpected_keys} == {"background", "to_mask", "background_grain"}


def test_a_held_mask_is_the_plain_generator_and_the_still_stream_gets_no_gradient_until_released():
    g, z, y, noise = background_generator()
    with torch.no_grad():
        g.background_grain.fill_(0.1)                                 # a wall with grain, which a held mask hides
    g.hold_mask(True)
    video, mask = g(z, y, noise=noise, return_mask=True)
    assert (mask == 1).all()
    plain = Generator(ModelConfig.from_preset("tiny", num_classes=2, time_padding="replicate", g_noise=True))
    plain.load_state_dict(g.state_dict(), strict=False)
    assert torch.equal(video, plain(z, y, noise=noise[:-1]))            # exactly the generator without the stream
    (video.square().mean() + mask.mean()).backward()                    # an image loss and the sparsity term
    idle = [*g.background.parameters(), *g.to_mask.parameters(), g.background_grain]
    assert all(p.grad is None or not p.grad.any() for p in idle)
    assert any(p.grad is not None and p.grad.any() for n, p in g.named_parameters()
               if not n.startswith(("background", "to_mask")))         # the drawn stream learns
    g.hold_mask(False)
    _, mask = g(z, y, noise=noise, return_mask=True)
    assert torch.allclose(mask, torch.full_like(mask, 0.9526), atol=1e-4)   # released: where a fresh stream starts
    with pytest.raises(ValueError, match="model.g_background"):
        plain.hold_mask(True)
