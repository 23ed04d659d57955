"""Training pieces on real images: split, augmentation, self-blended fakes, video frames."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from eyegrad.cli import build_parser, main
from eyegrad.runtime.decode import decode_image
from eyegrad.runtime.errors import EyegradError
from eyegrad.runtime.faces import FaceFinder
from eyegrad.runtime.features import STUDENT_GEOMETRY, align_band, eye_centers
from eyegrad.train.augment import AUGMENT_PRESETS, AugmentConfig, augmented_features, blend_mask, degrade, self_blend
from eyegrad.train.cache import CONTEXT_GEOMETRY
from eyegrad.train.data import Sample, discover, group_key, split_groups
from eyegrad.train.config import RunConfig, load_run, save_run
from eyegrad.train.groups import identity_groups, pairs_of
from eyegrad.train.loop import TrainSettings, learning_rate_schedule
from eyegrad.train.run import SPLIT_VERSIONS, load_crops, load_samples, prepare, split_crops, split_summary
from eyegrad.train.sequence import AugmentedBands, epoch_entries
from eyegrad.train.video import frame_indices, sample_frames


@pytest.fixture(scope="module")
def context_crop(sample_images) -> np.ndarray:
    gray = decode_image(sample_images[-1])
    face = FaceFinder().find(gray)[0]
    return align_band(gray, *eye_centers(face), CONTEXT_GEOMETRY)


def test_block_split_never_puts_a_block_on_both_sides(shared_data: Path):
    samples = [Sample(*d) for d in discover([shared_data / "mesonet_df" / "train"])]
    train, val = split_groups(samples, 0.2, seed=3)
    assert len(train) + len(val) == len(samples)
    assert not {s.group for s in train} & {s.group for s in val}
    # consecutive frames share a block: numbers 0..199 of one class are one group
    assert group_key(Path("real00007.jpg"), "m", 0, 200) == group_key(Path("real00199.jpg"), "m", 0, 200)
    assert group_key(Path("real00199.jpg"), "m", 0, 200) != group_key(Path("real00200.jpg"), "m", 0, 200)
    for label in (0, 1):  # stratified: about a fifth of each class in validation
        share = sum(s.label == label for s in val) / sum(s.label == label for s in samples)
        assert 0.15 < share < 0.3


def test_frames_of_one_video_stay_together(tmp_path: Path):
    for cls in ("real", "fake"):
        (tmp_path / cls).mkdir()
        for v in range(3):
            (tmp_path / cls / f"clip{v}.mp4").write_bytes(b"")
    samples = [Sample(p, y, s, g, frame) for p, y, s, g in discover([tmp_path]) for frame in range(5)]
    train, val = split_groups(samples, 0.34, seed=0)
    assert val and train
    assert not {s.path for s in train} & {s.path for s in val}


def test_seeded_augmentation_is_deterministic(context_crop):
    views = [augmented_features(context_crop, True, CONTEXT_GEOMETRY, [STUDENT_GEOMETRY],
                                np.random.default_rng([7, 1]))[0] for _ in range(2)]
    other = augmented_features(context_crop, True, CONTEXT_GEOMETRY, [STUDENT_GEOMETRY],
                               np.random.default_rng([8, 1]))[0]
    assert views[0].shape == (STUDENT_GEOMETRY.height, STUDENT_GEOMETRY.width, 3)
    np.testing.assert_array_equal(views[0], views[1])
    assert not np.array_equal(views[0], other)


def test_student_and_teacher_bands_share_one_view(context_crop):
    from eyegrad.train.run import TEACHER_GEOMETRY

    s, t = augmented_features(context_crop, False, CONTEXT_GEOMETRY, [STUDENT_GEOMETRY, TEACHER_GEOMETRY],
                              np.random.default_rng(5), AugmentConfig())
    assert s.shape[:2] == (STUDENT_GEOMETRY.height, STUDENT_GEOMETRY.width)
    assert t.shape[:2] == (TEACHER_GEOMETRY.height, TEACHER_GEOMETRY.width)


def laplacian_energy(img: np.ndarray) -> float:
    return float(np.abs(cv2.Laplacian(img.astype(np.float32), cv2.CV_32F)).mean())


def energy_changes(crop: np.ndarray, preset: str, fake: bool = False) -> np.ndarray:
    """Relative change of gradient energy over 200 seeded draws of ``degrade`` with ``preset``,
    without the steps that move it either way in every preset (noise, JPEG, photometric)."""
    cfg = AUGMENT_PRESETS[preset]._replace(noise=0.0, jpeg=0.0, photometric=0.0)
    base = laplacian_energy(crop)
    return np.array([laplacian_energy(degrade(crop, np.random.default_rng([3, i]), cfg, fake)) / base - 1
                     for i in range(200)])


def test_light_sharpen_sharpens_at_least_as_often_as_it_softens(context_crop):
    """Over many seeded draws, ``light`` lowers a crop's gradient energy more often than it
    raises it; ``light-sharpen`` raises it at least as often as it lowers it."""
    shares = {name: ((c > 0.02).mean(), (c < -0.02).mean())
              for name in ("light", "light-sharpen") for c in [energy_changes(context_crop, name)]}
    sharper, softer = shares["light-sharpen"]
    assert shares["light"][0] < shares["light"][1]
    assert sharper > 0.3 and sharper >= softer > 0.1


def test_light_counter_sharpens_fakes_and_blurs_reals_where_light_sharpen_treats_them_alike(context_crop):
    fakes, reals = (energy_changes(context_crop, "light-counter", fake) for fake in (True, False))
    assert (fakes > 0.02).mean() - (reals > 0.02).mean() > 0.15
    assert (reals < -0.02).mean() - (fakes < -0.02).mean() > 0.15
    assert np.array_equal(energy_changes(context_crop, "light-sharpen", True),
                          energy_changes(context_crop, "light-sharpen", False))


def test_self_blend_changes_only_the_eye_region(context_crop):
    rng = np.random.default_rng(0)
    eyes = CONTEXT_GEOMETRY.eye_points()
    mask = blend_mask(context_crop.shape, eyes, eyes[1][0] - eyes[0][0], rng)
    assert mask.shape == context_crop.shape and mask.dtype == np.float32
    assert mask.min() >= 0 and abs(mask.max() - 1) < 1e-6
    h, w = context_crop.shape
    assert mask[int(eyes[0][1]), int(eyes[0][0])] > 0.3 or mask[int(eyes[1][1]), int(eyes[1][0])] > 0.3
    assert mask[0, 0] < 0.05 and mask[h - 1, w - 1] < 0.05  # corners stay real
    fake = self_blend(context_crop, eyes, np.random.default_rng(1))
    assert fake.shape == context_crop.shape and fake.dtype == np.uint8
    diff = np.abs(fake.astype(int) - context_crop.astype(int))
    assert diff.max() > 10  # something was blended in
    assert diff[:4, :4].max() <= 2 and diff[-4:, -4:].max() <= 2


def test_video_frames_are_sampled(tmp_path: Path, sample_images):
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (128, 128))
    frames = [cv2.resize(cv2.imread(str(p)), (128, 128)) for p in sample_images]
    for i in range(40):
        writer.write(frames[i % len(frames)])
    writer.release()
    got = list(sample_frames(path, every=5, max_frames=4))
    assert [i for i, _ in got] == frame_indices(40, 5, 4)
    assert len(got) == 4 and all(g.shape == (128, 128) and g.dtype == np.uint8 for _, g in got)
    assert frame_indices(100, 10, 20) == list(range(0, 100, 10))


def test_a_small_numbered_set_is_split_in_contiguous_runs(tmp_path: Path):
    for cls in ("real", "fake"):
        (tmp_path / cls).mkdir()
        for i in range(100):
            (tmp_path / cls / f"{cls}_{i}.jpg").write_bytes(b"")
    samples = [Sample(*d) for d in discover([tmp_path])]
    train, val = split_groups(samples, 0.2, seed=0)
    for label in (0, 1):  # one block of 200 numbers per class, still split about 80/20
        n_val = sum(s.label == label for s in val)
        assert 10 <= n_val <= 30
    val_numbers = sorted(int(s.path.stem.split("_")[1]) for s in val if s.label == 1)
    runs = sum(1 for a, b in zip(val_numbers, val_numbers[1:]) if b != a + 1) + 1
    assert runs <= 3  # whole contiguous runs, not scattered files


def test_sbi_only_trains_on_real_crops_with_a_blended_fake_for_each(shared_data: Path, tmp_path: Path):
    roots = [shared_data / "mesonet_df" / "train", shared_data / "utkface"]
    config = RunConfig(data=tuple(roots), limit=12, cache=tmp_path, workers=1)
    data = prepare(config)
    only = prepare(dataclasses.replace(config, sbi_only=True))
    assert (data.train.labels == 1).any() and (only.train.labels == 0).all()
    assert len(only.train.labels) == int((data.train.labels == 0).sum())
    assert only.real_only_sources == ("mesonet_df", "utkface")
    assert np.array_equal(only.val.labels, data.val.labels)  # measured on the same real and fake crops
    entries = epoch_entries(only.train, 0.0, only.real_only_sources, np.random.default_rng(0))
    assert sum(e.make_fake for e in entries) == len(only.train.labels)
    assert sum(e.weight for e in entries if e.label == 1) == pytest.approx(sum(e.weight for e in entries if e.label == 0))


def test_a_source_weight_scales_that_sources_samples_and_the_classes_still_weigh_the_same(shared_data: Path,
                                                                                          tmp_path: Path):
    config = RunConfig(data=(shared_data / "mesonet_df" / "train", shared_data / "utkface"), limit=12,
                       cache=tmp_path, workers=1)
    crops = prepare(config).train

    def real_weights(source_weights) -> dict:
        entries = epoch_entries(crops, 0.0, (), np.random.default_rng(0), source_weights)
        assert sum(e.weight for e in entries if e.label == 1) == pytest.approx(
            sum(e.weight for e in entries if e.label == 0))
        return {src: next(e.weight for e in entries if e.label == 0 and crops.sources[e.index] == src)
                for src in ("mesonet_df", "utkface")}

    plain, halved = real_weights({}), real_weights({"utkface": 0.5})
    ratio = lambda w: w["utkface"] / w["mesonet_df"]  # noqa: E731
    assert ratio(halved) == pytest.approx(0.5 * ratio(plain))


def test_paired_batches_put_each_dfdc_swap_in_a_batch_with_its_original(shared_data: Path, tmp_path: Path):
    root = shared_data / "dfdc"
    pairs = pairs_of(root)[:16]
    samples = identity_groups([Sample(root / kind / name, label, "dfdc", "") for fake, original in pairs
                               for kind, label, name in (("fake", 1, fake), ("real", 0, original))], [root])
    crops = load_crops(samples, tmp_path, workers=1)
    names = [Path(p).name for p in crops.paths]
    pairs_with_crops = [(f, o) for f, o in pairs if f in names and o in names]
    assert len(pairs_with_crops) >= 12
    seq = AugmentedBands(crops, CONTEXT_GEOMETRY, [STUDENT_GEOMETRY], batch_size=6, sbi_rate=0.5, paired=True)
    for epoch in range(3):
        planned = epoch_entries(crops, 0.5, (), np.random.default_rng([0, epoch, 1]))
        assert sorted(seq.entries) == sorted(planned)  # every entry once, none added
        batch_of = {}
        for b in range(len(seq)):
            for e in seq.entries[b * 6:(b + 1) * 6]:
                if not e.make_fake:
                    batch_of[names[e.index]] = b
        together = [batch_of[f] == batch_of[o] for f, o in pairs_with_crops if f in batch_of]
        assert len(together) >= 10 and all(together)
        seq.on_epoch_end()
    with pytest.raises(EyegradError, match="even batch size"):
        AugmentedBands(crops, CONTEXT_GEOMETRY, [STUDENT_GEOMETRY], batch_size=5, paired=True)


def test_faces_found_or_missed_never_move_the_split(shared_data: Path, tmp_path: Path):
    samples = load_samples([shared_data / "ciplab" / "train"], limit=30, split="blocks")  # few blocks: cut into runs
    crops = load_crops(samples, tmp_path, workers=1)
    full, _ = split_crops(crops, samples, split="blocks")
    fewer = crops.subset(np.arange(len(crops.labels)) % 3 != 0)  # as if a third of the files gave no face
    part, _ = split_crops(fewer, samples, split="blocks")
    assert len(part.val.labels) and len(part.train.labels)
    assert set(part.val.paths) == set(full.val.paths) & set(fewer.paths)
    assert set(part.train.paths) == set(full.train.paths) & set(fewer.paths)
    assert split_summary(part)["version"] == SPLIT_VERSIONS["blocks"]


def test_learning_rate_warms_up_then_decays():
    lr = learning_rate_schedule(TrainSettings(epochs=16, learning_rate=3e-3), steps=100)
    assert float(lr(0)) == 0.0 and float(lr(50)) == pytest.approx(1.5e-3, rel=1e-3)  # one epoch of warm-up
    assert float(lr(100)) == pytest.approx(3e-3, rel=1e-3)
    assert float(lr(800)) < float(lr(100)) and float(lr(1600)) == pytest.approx(0.02 * 3e-3, rel=1e-2)
    short = learning_rate_schedule(TrainSettings(epochs=2, learning_rate=1e-3), steps=100)
    assert float(short(50)) == pytest.approx(1e-3, rel=1e-3)  # warm-up capped at a quarter of the run
    flat = learning_rate_schedule(TrainSettings(epochs=4, learning_rate=1e-3, warmup_epochs=0), steps=10)
    assert float(flat(0)) == pytest.approx(1e-3)


#: run.json "args" as `eyegrad train` wrote them before RunConfig: argparse's names, the
#: subcommand's name ("command") among them; older runs lack the newer options.
OLD_ARGS = {"command": "train", "data": ["d/a", "d/b"], "out": "runs/x", "epochs": 40, "batch_size": 64,
            "lr": 0.003, "sbi_rate": 0.25, "augment": "light", "average_last": 8, "val_fraction": 0.2, "seed": 0,
            "teacher": True, "teacher_epochs": None, "loso": False, "loso_epochs": 12, "limit": None,
            "cache": "None", "workers": 0}


def test_an_old_run_json_loads_with_every_setting_and_the_defaults_of_newer_ones(tmp_path: Path):
    (tmp_path / "run.json").write_text(json.dumps({"data": OLD_ARGS["data"], "args": OLD_ARGS}))
    config = load_run(tmp_path).config
    assert config.data == (Path("d/a"), Path("d/b")) and config.out == Path("runs/x") and config.cache is None
    assert (config.epochs, config.lr, config.sbi_rate, config.augment, config.average_last) == (40, 3e-3, 0.25,
                                                                                               "light", 8)
    assert (config.sbi_only, config.frames_every, config.no_student, config.init) == (False, 10, False, None)


def test_a_run_json_with_a_setting_this_version_does_not_know_is_refused(tmp_path: Path):
    (tmp_path / "run.json").write_text(json.dumps({"args": {**OLD_ARGS, "mixup": 0.2}}))
    with pytest.raises(EyegradError, match="RunConfig has no setting mixup") as err:
        load_run(tmp_path)
    assert str(tmp_path / "run.json") in str(err.value) and "\n" not in str(err.value)


def test_run_config_round_trips_through_run_json(tmp_path: Path):
    config = RunConfig(data=(Path("d/a"),), out=tmp_path, average_last=3, init=Path("w.h5"), limit=5,
                       cache=tmp_path / "cache")
    save_run(tmp_path, {"args": config.to_dict()})
    assert load_run(tmp_path).config == config


def test_the_command_line_defaults_are_run_configs():
    args = build_parser("train").parse_args(["train", "--data", "d/a"])
    assert RunConfig.from_args(args) == RunConfig(data=(Path("d/a"),))


@pytest.mark.parametrize("options, message", [
    (["--loso-only", "--loso-sources", "stylegan"], "no source of --data: stylegan (the sources: dfdc, genphotos)"),
    (["--loso-sources", "dfdc"], "add --loso or --loso-only"),
    (["--source-weight", "utkface=0.5"], "--source-weight names no source of --data: utkface (the sources: dfdc"),
])
def test_source_options_must_name_a_source_of_the_data(tmp_path: Path, capsys, options, message):
    roots = [tmp_path / "dfdc", tmp_path / "genphotos"]
    for root in roots:
        root.mkdir()
    assert main(["train", "--data", *map(str, roots), "--out", str(tmp_path / "run"), *options]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("eyegrad: error:") and message in err[0]
    assert not (tmp_path / "run").exists()


def test_a_runs_training_settings_come_from_its_config():
    """Every fit setting a run can set reaches TrainSettings (``eyegrad optimize`` fine-tunes with them too)."""
    config = RunConfig(data=(), epochs=7, batch_size=8, lr=1e-4, sbi_rate=0.1, seed=3, augment="light",
                       average_last=4, paired_batches=True, source_weights=("dfdc=0.5", "unsplash=2"))
    settings = TrainSettings.for_run(config)
    fixed = {"weight_decay", "patience", "label_smoothing", "warmup_epochs"}  # not options of `eyegrad train`
    from_run = {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings) if f.name not in fixed}
    assert from_run == {"epochs": 7, "batch_size": 8, "learning_rate": 1e-4, "sbi_rate": 0.1, "seed": 3,
                        "augment": "light", "average_last": 4, "paired_batches": True,
                        "source_weights": (("dfdc", 0.5), ("unsplash", 2.0))}
    assert TrainSettings.for_run(config, epochs=2).epochs == 2
