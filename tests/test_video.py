import av
import numpy as np
import pytest
from PIL import Image

from hrvgan.video import frame_grid, read_video, write_gif, write_grid_png, write_mp4, write_video


@pytest.fixture
def clip():
    # A smooth moving gradient (12, 32, 48, 3): like real video, unlike noise, H.264 keeps it close.
    t, y, x = np.meshgrid(np.arange(12), np.arange(32), np.arange(48), indexing="ij")
    return np.stack([(4 * x + 8 * t) % 256, 6 * y, 128 + 0 * x], axis=-1).astype(np.uint8)


def test_mp4_is_h264_yuv420p_and_reads_back(clip, tmp_path):
    path = write_mp4(clip, tmp_path / "a.mp4", fps=10, scale=2)
    back = read_video(path)
    assert back.shape == (12, 64, 96, 3)
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        assert s.codec_context.name == "h264" and s.pix_fmt == "yuv420p"
        assert float(s.average_rate) == pytest.approx(10)
    # Lossy, but close to the original (nearest-neighbour upscaled).
    assert np.abs(back[:, ::2, ::2].astype(int) - clip).mean() < 4


def test_mp4_odd_sizes_are_padded(tmp_path):
    clip = np.zeros((3, 31, 17, 3), np.uint8)
    assert read_video(write_mp4(clip, tmp_path / "odd.mp4")).shape == (3, 32, 18, 3)


def test_gif_frames(clip, tmp_path):
    path = write_gif(clip, tmp_path / "a.gif", fps=5)
    with Image.open(path) as im:
        assert im.n_frames == 12 and im.size == (48, 32) and im.info["duration"] == 200


def test_grid_layout(clip, tmp_path):
    videos = np.stack([clip, 255 - clip])
    grid = frame_grid(videos, padding=2)
    assert grid.shape == (2 * 32 + 3 * 2, 12 * 48 + 13 * 2, 3)
    assert np.array_equal(grid[2:34, 2:50], clip[0])              # row 0, column 0
    assert np.array_equal(grid[36:68, 52:100], 255 - clip[1])     # row 1, column 1
    path = write_grid_png(videos, tmp_path / "g.png", max_frames=4)
    with Image.open(path) as im:
        assert im.format == "PNG" and im.size == (4 * 48 + 5 * 2, 2 * 32 + 3 * 2)


def test_write_video_by_extension_and_bad_input(clip, tmp_path):
    assert write_video(clip, tmp_path / "x.gif").exists()
    with pytest.raises(ValueError, match="unsupported video extension"):
        write_video(clip, tmp_path / "x.avi")
    with pytest.raises(ValueError, match=r"uint8 frames shaped \(T, H, W, 3\)"):
        write_mp4(clip.astype(np.float32), tmp_path / "f.mp4")
