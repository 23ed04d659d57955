"""Each optimization step on a tiny student-like model (real input shape, a few hundred weights).

Pruning reaches its sparsity and keeps it through int8 export (PTQ and pruning-preserving
QAT); int8 exports have int8 input/output and builtin ops only; metadata round-trips through
`eyegrad info`; the runtime (Detector on the int8 export) agrees with the Keras model on the
sample images within quantization error; distillation trains only the student; threshold
calibration gives a band around the threshold that reaches the target precision.
"""
from __future__ import annotations

import json
from typing import List, Tuple

import numpy as np
import pytest

from eyegrad.cli import main
from eyegrad.runtime.decode import decode_image
from eyegrad.runtime.detector import Detector
from eyegrad.runtime.errors import EyegradError
from eyegrad.runtime.faces import FaceFinder
from eyegrad.runtime.features import FEATURE_VERSION, STUDENT_GEOMETRY, eye_features
from eyegrad.runtime.interpreter import interpreter_class
from eyegrad.runtime.model import EyeModel
from eyegrad.runtime.results import verdict_for
from eyegrad.runtime.aggregation import trimmed_mean
from eyegrad.runtime.tflite_metadata import read_metadata_entries
from eyegrad.optimize.calibrate import BandTargets, balanced_threshold, pseudo_videos, uncertain_band, video_band
from eyegrad.optimize.distill import Distiller
from eyegrad.optimize.config import OptimizeConfig
from eyegrad.optimize.export import MAX_MODEL_BYTES, builtin_op_names, check_size, convert, embed_metadata, schema
from eyegrad.optimize.metadata import ZOOMS, model_metadata
from eyegrad.optimize.prune import UpdatePruningStep, prunable_copy, sparsity_of, strip
from eyegrad.optimize.qat import quantize_aware_copy
from eyegrad.optimize.rundata import same_split_run
from eyegrad.optimize.variants import ensemble_row
from eyegrad.train.config import load_run
from eyegrad.train.loop import TrainSettings
from eyegrad.train.models import build_student, eye_band_cnn
from eyegrad.train.tf import keras

SHAPE = (STUDENT_GEOMETRY.height, STUDENT_GEOMETRY.width, 3)
#: Keras fp32 vs int8 .tflite p_fake: quantization error allowed.
QUANT_TOLERANCE = 0.05
RUN = {"data": ["examples"], "command": "pytest tests/test_optimize.py", "split": None, "date": "2025-01-01"}


def tiny(seed: int = 0, name: str = "tiny") -> keras.Model:
    """A student-like CNN (same layers and input) with a few hundred weights."""
    keras.utils.set_random_seed(seed)
    return eye_band_cnn(SHAPE, (4, 8, 8, 8, 8), 8, 0.0, name)


def compiled(model: keras.Model, lr: float = 1e-2) -> keras.Model:
    model.compile(keras.optimizers.Adam(lr), "binary_crossentropy")
    return model


@pytest.fixture(scope="module")
def samples(sample_images) -> Tuple[np.ndarray, np.ndarray]:
    """The runtime's eye features of the sample images (largest face) and their labels (fake = 1)."""
    finder, feats = FaceFinder(), []
    for path in sample_images:
        gray = decode_image(path)
        feats.append(eye_features(gray, finder.find(gray)[0], STUDENT_GEOMETRY))
    return np.stack(feats), np.array([p.name.startswith("fake") for p in sample_images], dtype=np.float32)


@pytest.fixture(scope="module")
def jittered(samples) -> Tuple[np.ndarray, np.ndarray]:
    """Noisy copies of the sample features: training and int8 calibration data."""
    x, y = samples
    rng = np.random.default_rng(0)
    xs = np.concatenate([x + rng.normal(0, 0.5, x.shape).astype(np.float32) for _ in range(8)])
    return np.clip(xs, -8, 8), np.tile(y, 8)


@pytest.fixture(scope="module")
def random_data() -> Tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    return rng.normal(0, 1, (48, *SHAPE)).astype(np.float32), rng.integers(0, 2, 48).astype(np.float32)


@pytest.fixture(scope="module")
def trained(jittered) -> keras.Model:
    """The tiny model fitted a little, so its p_fake differs between the sample images."""
    model = compiled(tiny())
    model.fit(*jittered, batch_size=8, epochs=20, verbose=0)
    return model


@pytest.fixture(scope="module")
def tiny_int8(trained, jittered) -> bytes:
    """The trained tiny model as a full-integer .tflite (calibrated on the jittered features)."""
    return convert(trained, "int8", jittered[0])


@pytest.fixture(scope="module")
def pruned(random_data) -> keras.Model:
    """A tiny model pruned to 60 % while fitting on random features, wrappers stripped."""
    wrapped = compiled(prunable_copy(tiny(1), 0.6, end_step=8))
    wrapped.fit(*random_data, batch_size=16, epochs=4, callbacks=[UpdatePruningStep()], verbose=0)  # 12 steps
    return strip(wrapped)


def int8_io(model_bytes: bytes) -> Tuple[np.dtype, np.dtype]:
    interp = interpreter_class()(model_content=model_bytes)
    return interp.get_input_details()[0]["dtype"], interp.get_output_details()[0]["dtype"]


def prunable_int8_sparsity(model_bytes: bytes) -> float:
    """Share of zeros in the int8 weights of the .tflite's 1x1 convolutions and fully-connected layers."""
    interp = interpreter_class()(model_content=model_bytes)
    interp.allocate_tensors()
    zeros = total = 0
    for t in interp.get_tensor_details():
        shape = tuple(t["shape"])
        pointwise = len(shape) == 4 and shape[1:3] == (1, 1)
        if t["dtype"] != np.int8 or not (pointwise or len(shape) == 2) or shape[0] == 1:
            continue  # not a weight of a prunable layer (activations have batch 1, so has the p_fake weight)
        w = interp.get_tensor(t["index"])
        zeros, total = zeros + int(np.sum(w == 0)), total + w.size
    return zeros / total


def metadata_names(model_bytes: bytes) -> List[str]:
    """Names of every metadata entry, duplicates included."""
    model = schema.Model.GetRootAsModel(model_bytes, 0)
    return [model.Metadata(i).Name().decode() for i in range(model.MetadataLength())]


def assert_deployable(model_bytes: bytes) -> None:
    """int8 in and out, builtin ops only, small enough."""
    assert int8_io(model_bytes) == (np.int8, np.int8)
    ops = list(builtin_op_names(model_bytes))
    assert ops and not [o for o in ops if o.startswith("CUSTOM") or "FLEX" in o], ops
    assert len(model_bytes) <= MAX_MODEL_BYTES


def with_metadata(raw: bytes, threshold: float, band: List[float], variant: str = "tiny") -> bytes:
    meta = model_metadata(STUDENT_GEOMETRY, threshold, {"uncertain_band": band, "share_uncertain": 0.0}, variant,
                          {"validation": {"auc": 1.0}}, RUN, teacher={"params": 1}, sparsity=0.0,
                          input_quantization={"dtype": "int8"})
    return embed_metadata(raw, meta)


def test_pruning_reaches_the_asked_sparsity(pruned):
    assert not [layer.name for layer in pruned.layers if "prune" in type(layer).__name__.lower()]
    s = sparsity_of(pruned)
    assert s["prunable"] >= 0.6 - 0.02
    assert s["overall"] < s["prunable"]  # the stem and depthwise convolutions stay dense


def test_pruned_int8_export_keeps_the_sparsity(pruned, jittered):
    data = convert(pruned, "int8", jittered[0][:16])
    assert_deployable(data)
    assert prunable_int8_sparsity(data) >= 0.6 - 0.02


def test_int8_export_has_int8_io_and_builtin_ops_only(tiny_int8, trained):
    assert_deployable(tiny_int8)
    ops = set(builtin_op_names(tiny_int8))
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "ABS"} <= ops
    with pytest.raises(ValueError):
        convert(trained, "int8")  # no representative data
    with pytest.raises(ValueError):
        convert(trained, "int4")


def test_the_full_student_exports_within_64_kib_with_a_real_models_metadata(jittered):
    keras.utils.set_random_seed(0)
    raw = convert(build_student(SHAPE), "int8", jittered[0][:8])
    shipped = EyeModel().metadata  # the shipped model: real metadata, real size
    assert_deployable(embed_metadata(raw, shipped))


def test_an_export_over_the_size_limit_is_a_one_line_error():
    check_size("student PTQ int8", MAX_MODEL_BYTES)
    with pytest.raises(EyegradError, match="student PTQ int8 is 262145 bytes, over the 262144 byte limit") as err:
        check_size("student PTQ int8", MAX_MODEL_BYTES + 1)
    assert "\n" not in str(err.value)


def test_metadata_round_trips_through_eyegrad_info(tiny_int8, tmp_path, capsys):
    data = with_metadata(with_metadata(tiny_int8, 0.5, [0.5, 0.5], "first"), 0.42, [0.3, 0.6])  # re-embedding replaces
    assert metadata_names(data).count("eyegrad") == 1
    assert data == with_metadata(tiny_int8, 0.42, [0.3, 0.6])  # the old entry's buffer is reused, not left behind
    path = tmp_path / "tiny.tflite"
    path.write_bytes(data)
    capsys.readouterr()
    assert main(["info", str(path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown == json.loads(read_metadata_entries(data)["eyegrad"])
    assert shown["variant"] == "tiny" and shown["feature_version"] == FEATURE_VERSION
    assert shown["threshold"] == 0.42 and shown["uncertain_band"] == [0.3, 0.6]
    assert shown["geometry"] == STUDENT_GEOMETRY.to_dict() and shown["labels"] == ["real", "fake"]
    assert shown["input"] == {"dtype": "int8"} and shown["training"]["command"] == RUN["command"]


def test_runtime_matches_keras_on_the_sample_images(trained, tiny_int8, sample_images, tmp_path):
    finder = FaceFinder()
    faces = [(g, finder.find(g)[0]) for g in map(decode_image, sample_images)]
    # the runtime averages the band and its mirror image (metadata "views"), each cut at every zoom
    views = [np.stack([eye_features(g, f, STUDENT_GEOMETRY.zoomed(z), mirrored) for g, f in faces])
             for z in ZOOMS for mirrored in (False, True)]
    assert len(views) == 2 * len(ZOOMS)
    keras_p = np.mean([trained.predict(x, verbose=0).reshape(-1) for x in views], axis=0)
    threshold, band = 0.5, [0.45, 0.55]
    path = tmp_path / "tiny.tflite"
    path.write_bytes(with_metadata(tiny_int8, threshold, band))
    detector = Detector(path, num_threads=1)
    for image, kp in zip(sample_images, keras_p):
        result = detector.detect(image)
        assert len(result.faces) == 1 and result.error is None
        assert abs(result.p_fake - kp) < QUANT_TOLERANCE, (image.name, result.p_fake, kp)
        if min(abs(kp - edge) for edge in band) > QUANT_TOLERANCE:  # clear of the band's edges
            assert result.verdict == verdict_for(float(kp), tuple(band)), image.name


def test_qat_copy_converts_to_int8_and_matches_keras(trained, jittered, samples, tmp_path):
    copy = tiny(name="copy")
    copy.set_weights(trained.get_weights())
    qat = compiled(quantize_aware_copy(copy), lr=1e-3)
    qat.fit(*jittered, batch_size=16, epochs=1, verbose=0)
    data = convert(qat, "int8", jittered[0][:16])
    assert_deployable(data)
    path = tmp_path / "qat.tflite"
    path.write_bytes(with_metadata(data, 0.5, [0.4, 0.6]))
    runtime_p = EyeModel(path).predict(samples[0])
    np.testing.assert_allclose(runtime_p, qat.predict(samples[0], verbose=0).reshape(-1), atol=QUANT_TOLERANCE)


def test_pruning_preserving_qat_keeps_the_sparsity(pruned, random_data, jittered):
    qat = compiled(quantize_aware_copy(pruned, preserve_sparsity=True), lr=1e-3)
    qat.fit(*random_data, batch_size=16, epochs=1, verbose=0)
    data = convert(qat, "int8", jittered[0][:16])
    assert_deployable(data)
    assert prunable_int8_sparsity(data) >= 0.6 - 0.02


def test_distillation_trains_only_the_student(random_data):
    student, teacher = tiny(2, "student"), tiny(3, "teacher")
    before_s, before_t = student.get_weights(), teacher.get_weights()
    distiller = Distiller(student, teacher, temperature=3.0, alpha=0.5)
    distiller.compile(optimizer=keras.optimizers.Adam(1e-2))
    x, y = random_data
    hist = distiller.fit([x, x], y, sample_weight=np.ones_like(y), batch_size=16, epochs=2, verbose=0)
    assert np.isfinite(hist.history["loss"]).all()
    # the epoch's loss is the mean over its 3 batches (reset every epoch), not the last batch's
    assert float(distiller.loss_tracker.count) == 3
    assert hist.history["loss"][-1] == pytest.approx(float(distiller.loss_tracker.result()))
    assert all(np.array_equal(a, b) for a, b in zip(before_t, teacher.get_weights()))
    assert any(not np.array_equal(a, b) for a, b in zip(before_s, student.get_weights()))
    np.testing.assert_allclose(distiller.predict(x[:4], verbose=0), student.predict(x[:4], verbose=0))


def test_two_teachers_give_their_mean_logit_and_stay_frozen(random_data):
    student, teacher, band_teacher = tiny(2, "student"), tiny(3, "teacher"), tiny(4, "band_teacher")
    before = [m.get_weights() for m in (teacher, band_teacher)]
    distiller = Distiller(student, teacher, temperature=2.0, alpha=0.5, band_teacher=band_teacher)
    x, y = random_data
    x_teacher = np.ascontiguousarray(x[:, :, ::-1])  # the teachers read different inputs
    logit = lambda p: np.log(p) - np.log1p(-p)  # noqa: E731
    expected = 1 / (1 + np.exp(-(logit(teacher.predict(x_teacher[:8], verbose=0))
                                 + logit(band_teacher.predict(x[:8], verbose=0))) / 4.0))
    np.testing.assert_allclose(distiller.soft_targets(x[:8], x_teacher[:8]).numpy(), expected, rtol=1e-4, atol=1e-6)
    distiller.compile(optimizer=keras.optimizers.Adam(1e-2))
    distiller.fit([x, x_teacher], y, sample_weight=np.ones_like(y), batch_size=16, epochs=1, verbose=0)
    for model, weights in zip((teacher, band_teacher), before):
        assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))


def toy_scores(seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """Reals mostly low, fakes mostly high, a mixed zone around 0.6."""
    rng = np.random.default_rng(seed)
    real = np.concatenate([rng.uniform(0.0, 0.5, 180), rng.uniform(0.5, 0.7, 20)])
    fake = np.concatenate([rng.uniform(0.7, 1.0, 180), rng.uniform(0.5, 0.7, 20)])
    return np.r_[np.zeros(200), np.ones(200)].astype(int), np.r_[real, fake]


def test_the_band_clears_most_reals_and_accuses_few():
    labels, scores = toy_scores()
    threshold = balanced_threshold(labels, scores)
    assert 0.5 <= threshold <= 0.7
    band = uncertain_band(labels, scores, threshold, targets=BandTargets(reals_real=0.6, reals_fake=0.02))
    lo, hi = band["uncertain_band"]
    # what the band promises holds on the scores: 60 % of the reals get `real`, at most 2 % `fake`
    verdicts = np.array([verdict_for(s, (lo, hi)) for s in scores])
    assert (verdicts[labels == 0] == "real").mean() >= 0.6 and (verdicts[labels == 0] == "fake").mean() <= 0.02
    assert (verdicts[labels == 0] == "real").mean() < 0.61  # the lowest such cut: no more uncertain fakes cleared
    counts = band["verdicts_per_source"][""]
    assert counts["reals_called_real"] == (verdicts[labels == 0] == "real").sum()
    assert counts["fakes_called_fake"] == (verdicts[labels == 1] == "fake").sum() >= 170
    assert band["targets"] == {"reals_real": 0.6, "reals_fake": 0.02, "videos_real": 0.95, "videos_fake": 0.05}


def big_and_small_source(small_real: Tuple[float, float], small_fake: Tuple[float, float]
                         ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Labels, scores and sources of a big source (900 reals in [0, 0.4], 900 fakes in [0.6, 1]) and a
    small one (50 of each, uniform in the ranges given), and the small source's fake scores."""
    rng = np.random.default_rng(0)
    big_real, big_fake = rng.uniform(0.0, 0.4, 900), rng.uniform(0.6, 1.0, 900)
    small_reals, small_fakes = rng.uniform(*small_real, 50), rng.uniform(*small_fake, 50)
    labels = np.r_[np.zeros(900), np.ones(900), np.zeros(50), np.ones(50)].astype(int)
    scores = np.r_[big_real, big_fake, small_reals, small_fakes]
    return labels, scores, np.array(["big"] * 1800 + ["small"] * 100), small_fakes


def test_the_threshold_weighs_every_source_alike():
    """A small source whose fakes score lower moves the threshold: pooled, it would be outvoted by the large one."""
    labels, scores, sources, small_fake = big_and_small_source((0.0, 0.2), (0.3, 0.5))
    pooled, per_source = balanced_threshold(labels, scores), balanced_threshold(labels, scores, sources)
    assert (small_fake >= pooled).mean() < 0.6 and (small_fake >= per_source).all()


def test_the_band_holds_for_every_source_alike():
    """A small source whose reals score higher moves the band: pooled, it would be outvoted by the large one."""
    labels, scores, sources, _ = big_and_small_source((0.2, 0.6), (0.5, 0.9))
    band = uncertain_band(labels, scores, balanced_threshold(labels, scores, sources), sources)
    for name in ("big", "small"):
        counts = band["verdicts_per_source"][name]
        assert counts["reals_called_real"] >= 0.6 * counts["reals"]
        assert counts["reals_called_fake"] <= 0.08 * counts["reals"]
    assert band["verdicts_per_source"]["big"]["reals_called_real"] > 0.9 * 900  # the small source sets lo


def test_band_targets_are_checked():
    for bad in ({"reals_real": 0}, {"reals_fake": 1.0}, {"reals_real": 0.7, "reals_fake": 0.4}, {"videos_real": 0},
                {"videos_real": 0.96, "videos_fake": 0.05}):
        with pytest.raises(ValueError):
            BandTargets(**bad)


def test_the_video_band_clears_real_pseudo_videos_and_accuses_few():
    """Groups of five or more frames of one label are pseudo-videos, combined by the runtime's trimmed mean."""
    rng = np.random.default_rng(1)
    labels, scores, groups = [], [], []
    for g in range(40):
        label = g % 2
        centre = rng.uniform(0.1, 0.5) if label == 0 else rng.uniform(0.4, 0.9)
        n = 8 if g < 38 else 3  # the last two groups are too short to count
        labels += [label] * n
        scores += list(np.clip(centre + rng.normal(0, 0.05, n), 0, 1))
        groups += [f"g{g}"] * n
    labels, scores, groups = np.array(labels), np.array(scores), np.array(groups)
    y, combined = pseudo_videos(labels, scores, groups)
    assert len(y) == 38 and (y == 0).sum() == 19
    real_group = scores[groups == "g0"]
    assert combined[0] == pytest.approx(trimmed_mean(real_group))
    band = video_band(labels, scores, groups, (0.3, 0.6), BandTargets(videos_real=0.9, videos_fake=0.0))
    lo, hi = band["video_band"]
    counts = band["pseudo_videos"]
    assert counts["reals_called_real"] >= 0.9 * 19 and counts["reals_called_fake"] == 0
    assert (combined[y == 0] <= hi).all() and lo <= hi
    strict = video_band(labels, scores, groups, (0.3, 0.6), BandTargets(videos_real=0.9, videos_fake=0.1))
    assert strict["video_band"][0] == lo and strict["video_band"][1] <= hi
    assert strict["pseudo_videos"]["reals_called_fake"] <= 0.1 * 19
    no_reals = video_band(np.ones(10, int), np.full(10, 0.7), np.array(["a"] * 10), (0.3, 0.6))
    assert no_reals["video_band"] == [0.3, 0.6]


def test_the_teachers_ensemble_row_averages_logits():
    labels = np.array([0, 0, 1, 1])
    rows = [{"variant": "a", "params": 3, "pred": np.array([0.2, 0.8, 0.8, 0.9])},
            {"variant": "b", "params": 4, "pred": np.array([0.5, 0.1, 0.5, 0.6])}]
    row = ensemble_row("a + b", rows, labels)
    np.testing.assert_allclose(row["pred"][[1, 2]], [0.4, 2 / 3])  # odds 4 and 1/9 -> 2/3, 4 and 1 -> 2
    assert row["params"] == 7 and row["auc"] == 1.0


def test_a_teacher_from_a_run_with_another_split_is_refused(tmp_path):
    split = {"train": {"a": {"real": 8, "fake": 8}}, "val": {"a": {"real": 2, "fake": 2}}}
    run = {"data": ["d/a"], "split": split, "command": "eyegrad train ..."}
    for name, other in (("same", run), ("other", {**run, "split": {**split, "val": {"a": {"real": 3, "fake": 2}}}})):
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_text(json.dumps(other))
    assert same_split_run(tmp_path / "same", run)["command"] == "eyegrad train ..."
    with pytest.raises(EyegradError, match="another split than the student's run") as err:
        same_split_run(tmp_path / "other", run)
    assert "\n" not in str(err.value)
    with pytest.raises(EyegradError, match="not a training run"):
        same_split_run(tmp_path / "missing", run)


def test_optimize_fine_tunes_with_every_training_setting_of_an_old_run_json(tmp_path):
    """A run.json written before RunConfig (argparse's keys, "command" among them) gives optimize
    the run's settings, weight averaging included."""
    args = {"command": "train", "data": ["d/a"], "out": "runs/x", "epochs": 40, "batch_size": 32, "lr": 0.001,
            "sbi_rate": 0.25, "augment": "light", "average_last": 8, "val_fraction": 0.2, "seed": 4,
            "cache": "None", "workers": 0}
    (tmp_path / "run.json").write_text(json.dumps({**RUN, "args": args}))
    settings = TrainSettings.for_run(load_run(tmp_path).config)
    assert settings == TrainSettings(epochs=40, batch_size=32, learning_rate=1e-3, sbi_rate=0.25, seed=4,
                                     augment="light", average_last=8)


def test_optimize_config_comes_from_the_command_line_and_round_trips(tmp_path):
    from eyegrad.cli import build_parser

    args = build_parser("optimize").parse_args(["optimize", "--run", str(tmp_path), "--sparsity", "0.6"])
    config = OptimizeConfig.from_args(args)
    assert config == OptimizeConfig(run=tmp_path, sparsity=(0.6,))
    assert OptimizeConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
