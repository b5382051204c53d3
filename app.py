"""HRVGAN demo: sample videos by class, scrub latent interpolations, frame grids.

    python app.py                      # the default model in weights/, on http://127.0.0.1:7860
    HRVGAN_MODEL=runs/x/model python app.py
    HRVGAN_MODEL=weights,user/hrvgan-golf python app.py   # several models: a dropdown

GRADIO_SERVER_NAME / GRADIO_SERVER_PORT choose the address.  Nothing is fetched from the
internet unless HRVGAN_MODEL names a Hub repo.
"""

import functools
import logging
import os
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402

from hrvgan import demo  # noqa: E402

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
logger = logging.getLogger("hrvgan.app")
EXAMPLES = Path(__file__).resolve().parent / "examples"
CLIPS = demo.example_clips(EXAMPLES / "clips")   # held-out real clips for the Predict tab
try:
    MODELS = demo.load_models(clips=CLIPS)
except (FileNotFoundError, NotADirectoryError, ValueError, ConnectionError) as e:
    raise SystemExit(f"error: could not load the model: {e}\nSet HRVGAN_MODEL to a model folder or Hub repo id.") from None
FIRST = next(iter(MODELS.values()))

# Slider -> show one step of the interpolation: sets the sprite sheet's row in the browser, never calls the server.
SCRUB_JS = """(step) => {
  const view = document.querySelector('#interp-view .scrub');
  if (view) view.style.setProperty('--row', step - 1);
  return step;
}"""

# Files come at the model's own resolution; the browser enlarges them without smoothing.
CSS = """
.pixelated video, .pixelated img { image-rendering: pixelated; }
.pixelated video { width: 100%; object-fit: contain; }
"""


def _friendly(fn):
    """Turn bad input into a message in the UI (gr.Error): one log line, no traceback, no server paths."""
    @functools.wraps(fn)  # keeps the parameter names (and defaults) that the API page and gradio_client show
    def wrapped(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as e:  # DemoError and the library's own checks (class, seed, ...) say what was wrong
            logger.info("bad request to %s: %s", fn.__name__, e)
            raise gr.Error(str(e), print_exception=False) from None
    return wrapped


# The functions get what was sent, not Gradio's preprocessed values: a number box would round a seed of 3.7
# to 4 and fail on a string without a word; the library's checks say what is wrong instead.
RAW = dict(preprocess=False)


def served(model_name) -> demo.LoadedModel:
    return MODELS.get(model_name) or FIRST


# Every API input has a default (None where the model decides: the first class, the first clip).
@_friendly
def sample(model_name=None, class_name=None, seed=0, num_videos=4, truncation=1.0, fps=8, num_frames=16,
           extend="loop", progress=gr.Progress()):
    def report(done, total):  # long videos: a bar while they are made
        progress(done / total, desc=f"{done} of {total} frames")
    return served(model_name).sample(class_name, seed, num_videos, truncation, fps, num_frames, report, extend)


@_friendly
def interpolate(model_name=None, seed_a=0, seed_b=1, class_a=None, class_b=None, steps=8, mode="slerp", fps=8):
    walk, grid, view, n = served(model_name).interpolate(seed_a, seed_b, class_a, class_b, steps, mode, fps)
    return walk, grid, view, gr.Slider(minimum=1, maximum=n, value=1, step=1, interactive=True)


@_friendly
def predict(model_name=None, clip=None, upload=None, class_name=None, seed=0, fps=8):
    return served(model_name).predict(clip, demo.upload_path(upload), class_name, seed, fps)


def on_model_change(model_name):
    loaded = MODELS[model_name]
    names = loaded.model.class_names
    conditional = bool(names)
    choices = names or [demo.NO_CLASS]
    class_update = lambda value: gr.Dropdown(choices=choices, value=value, visible=conditional)  # noqa: E731
    return (class_update(choices[0]), class_update(choices[0]), class_update(choices[-1]), class_update(choices[0]),
            loaded.about)


def on_clip_change(model_name, clip):
    """Picking a shipped clip selects the class it shows."""
    loaded = MODELS[model_name]
    return gr.Dropdown(value=loaded.class_of_clip(clip) or gr.skip()) if loaded.model.class_names else gr.skip()


def random_seed():
    import random
    return random.randint(0, demo.SEED_LIMIT)


classes = FIRST.model.class_names
choices = classes or [demo.NO_CLASS]     # an unconditional model still gives the (hidden) class inputs a value
conditional = bool(classes)
# The shipped examples/ show the default model: only offered when that is the model served.
DEFAULT_MODEL = not os.environ.get("HRVGAN_MODEL")
EXAMPLE_GIFS = ([(str(EXAMPLES / f"{demo.slug(c)}.gif"), c) for c in classes if (EXAMPLES / f"{demo.slug(c)}.gif").exists()]
                if DEFAULT_MODEL else [])
PREDICTS = FIRST.predictor is not None

with gr.Blocks(title="HRVGAN video generator", delete_cache=(3600, 3600)) as app:
    gr.Markdown("# HRVGAN: spatio-temporal video GAN\nGenerate short videos by class from the "
                "[HRVGAN](https://arxiv.org/abs/2008.09646) generator, walk through its latent space, "
                "and predict how a clip goes on.")
    model_dd = gr.Dropdown(list(MODELS), value=FIRST.name, label="Model", visible=len(MODELS) > 1)

    with gr.Tab("Sample"):
        with gr.Row():
            with gr.Column(scale=1):
                class_dd = gr.Dropdown(choices, value=choices[0], label="Class", visible=conditional)
                with gr.Row():
                    seed = gr.Number(0, label="Seed", precision=0, info=f"0 to {demo.SEED_LIMIT}")
                    dice = gr.Button("🎲 Random seed", size="sm")
                num_videos = gr.Slider(1, demo.MAX_VIDEOS, value=4, step=1, label="Number of videos (seeds seed, seed+1, ...)")
                truncation = gr.Slider(0.05, 2.0, value=1.0, step=0.05, label="Truncation (lower = closer to the class average)")
                fps = gr.Slider(1, 30, value=8, step=1, label="Frames per second")
                num_frames = gr.Slider(FIRST.model.config.frames, demo.MAX_DEMO_FRAMES, value=FIRST.model.config.frames,
                                       step=8, label="Frames per video")
                extend = gr.Radio([("loop: the generator repeats its 16-frame motion (no drift)", "loop"),
                                   ("predict: the prediction model continues, 8 frames at a time", "predict")],
                                  value="loop", label="Beyond 16 frames", visible=FIRST.predictor is not None)
                go = gr.Button("Generate", variant="primary")
            with gr.Column(scale=2):
                video_out = gr.Video(label="Videos", format="mp4", autoplay=True, loop=True, height=320,
                                     elem_id="sample-video", elem_classes=["pixelated"])
                grid_out = gr.Image(label="Frame grid (a row per video, as in the paper's Fig. 4)", type="filepath",
                                    format="png", elem_id="sample-grid", elem_classes=["pixelated"])
                files_out = gr.File(label="Downloads (mp4, png)", file_count="multiple")
        gr.Examples(
            examples=[[c, s, 4, 1.0, 8] for c, s in zip(choices, (0, 7, 21, 42))],
            inputs=[class_dd, seed, num_videos, truncation, fps], label="Examples")
        dice.click(random_seed, None, seed, api_name=False)
        go.click(sample, [model_dd, class_dd, seed, num_videos, truncation, fps, num_frames, extend], [video_out, grid_out, files_out],
                 api_name="sample", **RAW)

    with gr.Tab("Interpolate"):
        with gr.Row():
            with gr.Column(scale=1):
                with gr.Row():
                    seed_a = gr.Number(0, label="Seed A", precision=0, info=f"0 to {demo.SEED_LIMIT}")
                    seed_b = gr.Number(1, label="Seed B", precision=0, info=f"0 to {demo.SEED_LIMIT}")
                with gr.Row():
                    class_a = gr.Dropdown(choices, value=choices[0], label="Class A", visible=conditional)
                    class_b = gr.Dropdown(choices, value=choices[-1], label="Class B", visible=conditional)
                steps = gr.Slider(2, demo.MAX_STEPS, value=8, step=1, label="Steps")
                mode = gr.Radio(["slerp", "lerp"], value="slerp", label="Path (slerp follows the latent sphere)")
                fps_i = gr.Slider(1, 30, value=8, step=1, label="Frames per second")
                go_i = gr.Button("Interpolate", variant="primary")
            with gr.Column(scale=2):
                scrub = gr.Slider(1, 8, value=1, step=1, label="Step along the path (drag: no new generation)")
                view = gr.HTML('<div id="interp-view"></div>', label="Step")
                walk_out = gr.Video(label="The whole path as one video", format="mp4", autoplay=True, loop=True, height=320,
                                    elem_classes=["pixelated"])
                grid_i = gr.Image(label="Grid: a row per step (as in the paper's Figs. 2-3)", type="filepath", format="png",
                                  elem_classes=["pixelated"])
        go_i.click(interpolate, [model_dd, seed_a, seed_b, class_a, class_b, steps, mode, fps_i],
                   [walk_out, grid_i, view, scrub], api_name="interpolate", **RAW)
        scrub.change(None, scrub, scrub, js=SCRUB_JS, api_name=False)

    with gr.Tab("Predict"):
        gr.Markdown("The model is given the first frames of a clip and predicts the frames that follow "
                    "(paper eqs. 10 and 15). The shipped clips are real videos of performers the model never saw."
                    + ("" if PREDICTS else "\n\n**This model only generates: it was not trained to predict.**"
                       + (f" Its predict/ model could not be loaded: {FIRST.predictor_error}" if FIRST.predictor_error else "")))
        with gr.Row():
            with gr.Column(scale=1):
                clip_dd = gr.Dropdown(list(CLIPS) or [""], value=next(iter(CLIPS), ""), label="Held-out clip")
                upload = gr.File(label="...or upload a short video (its first frames are the context)",
                                 file_types=["video", ".gif"], type="filepath")
                class_p = gr.Dropdown(choices, value=choices[0], label="Class", visible=conditional)
                seed_p = gr.Number(0, label="Seed (another seed, another plausible future)", precision=0,
                                   info=f"0 to {demo.SEED_LIMIT}")
                fps_p = gr.Slider(1, 30, value=8, step=1, label="Frames per second")
                go_p = gr.Button("Predict", variant="primary")
            with gr.Column(scale=2):
                pred_out = gr.Video(label="Left: context, then the prediction. Right: context, then what really happened",
                                    format="mp4", autoplay=True, loop=True, height=320, elem_id="predict-video",
                                    elem_classes=["pixelated"])
                pred_grid = gr.Image(label="Rows: context, prediction, real continuation", type="filepath", format="png",
                                     elem_id="predict-grid", elem_classes=["pixelated"])
                pred_files = gr.File(label="Downloads (mp4, png)", file_count="multiple")
        go_p.click(predict, [model_dd, clip_dd, upload, class_p, seed_p, fps_p], [pred_out, pred_grid, pred_files],
                   api_name="predict", **RAW)
        clip_dd.change(on_clip_change, [model_dd, clip_dd], class_p, api_name=False)

    with gr.Tab("About"):
        about = gr.Markdown(FIRST.about)
        if EXAMPLE_GIFS:
            gr.Gallery(EXAMPLE_GIFS, label="Samples of the default model, seeds 0-3 per class "
                       "(examples/, made by examples/make_examples.py)", columns=2, object_fit="contain", height=420)

    model_dd.change(on_model_change, model_dd, [class_dd, class_a, class_b, class_p, about], api_name=False)

# Two workers: the generator already uses both cores, and the encoders run side by side within a request.
# A full queue answers at once with Gradio's "queue is full" message instead of a time-out.
app.queue(default_concurrency_limit=int(os.environ.get("HRVGAN_CONCURRENCY", "4")), max_size=128)

if __name__ == "__main__":
    app.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"),
               server_port=int(os.environ.get("GRADIO_SERVER_PORT", "7860")), show_error=False,
               allowed_paths=[str(EXAMPLES)], css=CSS)
