"""End to end on real song: Bengalese finch gy6or6 (CC BY 4.0, see the data folder's README).

Day 032312 (12 songs, 118 s) -> dataset (train/val by samples) -> STFT-frontend TCN -> ``das
predict`` on every song of day 032412 (10 songs, 97 s, never seen) -> scores against the
hand-labelled CSVs of that day:

- syllable onset and offset F1 within 10 ms (one-to-one matching, label-agnostic boundaries),
  counts summed over the files;
- syllable error rate: edit distance of the label sequences per file, summed over the files,
  divided by the total number of true syllables.

Rare labels: day 032412 holds one ``-`` and one ``x`` syllable, day 032312 none, so the network
never learns them.  They are kept in the ground truth: each costs one substitution in the
syllable error rate (its boundaries still count if the network finds a syllable there).

The network and training are DAS's bird command line (``--nb-hist 1024 --nb-filters 32
--kernel-size 32 --nb-conv 3 --nb-pre-conv 4``, DAS's learning rate 5e-4 and early stopping),
10 epochs of 80 steps.  Training chooses the post-processing on the validation split (the
default): ``das predict`` without fill gap/min length uses it; both predictions (the DAS
tutorial's 5 ms / 25 ms and the chosen values) are scored.

Why the thresholds hold on any CPU (issue 16).  The earlier recipe (``--nb-hist 2048
--kernel-size 16 --nb-conv 2``, learning rate 1e-3, early-stop patience 4) ended at offset F1
0.96 with seed 1 here and 0.80 on an Intel Xeon with AMX.  Seeds 1/2/3 here gave offset F1
0.958 (as measured when the test was written)/0.750/0.876: the run kept the epoch with the
lowest validation loss, which at that rate bounced (0.16, 0.11, 0.15, 0.13, 0.16 for seed 2)
and was lowest at epoch 2 for some trajectories; an epoch-2 model scores 0.60-0.75, and the
patience of 4 ended such runs at epoch 6.  Another CPU's rounding (oneDNN with AMX sums in
another order) moves the trajectory as another seed does: the cause was the recipe on a knife's
edge, not the numerics.  With DAS's bird command line the validation loss falls to the end
(best epoch 9-10) over seeds 1/2/3 here (AMD EPYC, 2 cores; 240-290 s of training on the
loaded machine):

=====================  =====================  =====================  ======================
post-processing        onset F1               offset F1              syllable error rate
=====================  =====================  =====================  ======================
5 ms / 25 ms (typed)   0.939 / 0.919 / 0.936  0.914 / 0.907 / 0.929  0.088 / 0.094 / 0.094
chosen at training     0.926 / 0.949 / 0.947  0.891 / 0.925 / 0.945  0.104 / 0.079 / 0.079
=====================  =====================  =====================  ======================

(spread 0.02 for everything but the chosen offsets, 0.054; the chosen values were fill gap
4-8 ms and minimum length 16 ms).  Each threshold sits the spread plus 0.02 below the worst
seed.  Seed 1 with ``TF_ENABLE_ONEDNN_OPTS=0`` (other kernels and summation order, a stand-in
for another CPU) scored 0.912/0.920/0.104 typed and 0.942/0.930/0.103 chosen.

On 2026-12-01 (current main) seeds 1/2/3 were run again by default and with
``ONEDNN_MAX_CPU_ISA=AVX2`` (oneDNN without AVX-512/bf16 kernels: another CPU's arithmetic);
``NAPARI_DAS_FINCH_SEED`` picks the seed.  Over the six runs the offset F1 (typed) spans
0.878-0.966: the CPU moves a run as much as a seed does.  The thresholds below come from that
spread (see ``OFFSET_MIN``).

On 2026-12-02, with segments labelled where the segment classes' probabilities sum above the
threshold (``label_segments``), seeds 1/2/3 on an AMD EPYC scored onset 0.992-0.996, offset
0.994-0.995, error rate 0.036-0.038 (chosen: 0.988-0.991 / 0.988-0.994 / 0.040-0.050), a spread
of 0.004.  The thresholds stay where the wider spread put them until the rule has been measured
on the Intel CPU kind too.
"""

from __future__ import annotations

import os
import time

import pytest
import yaml

from napari_das.core.config import DatasetConfig, NetworkConfig, PredictionConfig, TrainingConfig

TRAIN_DAY, TEST_DAY = "032312", "032412"
TOLERANCE_S = 0.01
#: DAS bird tutorial post-processing: fill gaps < 5 ms, drop segments < 25 ms.
FILL_GAP_S, MIN_LEN_S = 0.005, 0.025
#: Thresholds from 6 runs (seeds 1/2/3, oneDNN default (AVX-512 bf16) and ONEDNN_MAX_CPU_ISA=AVX2,
#: AMD EPYC, 2026-12-01; bench/BIRDS.md): mean -/+ 3 sd, rounded outwards, never tighter than
#: before: onset 0.936 +- 0.018 (-> 0.88, kept 0.87), offset 0.912 +- 0.029 (-> 0.82; was 0.86,
#: above the AVX2 seed 3's 0.878 by only 0.018), chosen offset 0.917 +- 0.029 (-> 0.83, kept
#: 0.81), error rate 0.094 +- 0.021 (-> 0.16; was 0.15).  The Intel failure (0.80) still fails.
ONSET_MIN, OFFSET_MIN, OFFSET_MIN_CHOSEN, SER_MAX = 0.87, 0.82, 0.81, 0.16
#: DAS's bird command line (DAS_REFERENCE 8, bench/BIRDS.md).
#: Training seed; ``NAPARI_DAS_FINCH_SEED=2`` re-runs the test with another (the spread above).
SEED = int(os.environ.get("NAPARI_DAS_FINCH_SEED", "1"))
NETWORK = NetworkConfig(nb_hist=1024, nb_pre_conv=4, pre_nb_dft=64, nb_filters=32,
                        kernel_size=32, nb_conv=3)


def score_folder(truth_folder, pred_folder) -> dict:
    """Onset/offset counts and the syllable edit distance summed over the true CSVs."""
    from napari_das.core.evaluation import metrics
    from napari_das.core.io.annotations import Annotations

    counts = {"onsets": [0, 0, 0], "offsets": [0, 0, 0]}  # tp, fp, fn
    errors = syllables = files = 0
    for truth_path in sorted(truth_folder.glob("*_annotations.csv")):
        truth = Annotations.from_file(truth_path).df
        pred = Annotations.from_file(pred_folder / truth_path.name).df
        scores = metrics.segment_onset_offset_scores(
            truth.start_seconds, truth.stop_seconds, pred.start_seconds, pred.stop_seconds,
            TOLERANCE_S)
        for side, s in (("onsets", scores.onsets), ("offsets", scores.offsets)):
            counts[side] = [c + v for c, v in zip(counts[side], (s.tp, s.fp, s.fn))]
        errors += metrics.edit_distance(list(truth.name), list(pred.name))
        syllables += len(truth)
        files += 1
    f1 = {side: 2 * tp / (2 * tp + fp + fn) for side, (tp, fp, fn) in counts.items()}
    return {"files": files, "syllables": syllables, "counts": counts,
            "onset_f1": f1["onsets"], "offset_f1": f1["offsets"],
            "syllable_error_rate": errors / syllables}


@pytest.mark.slow
def test_finch_train_one_day_predict_the_next(finch_dir, tmp_path):
    from napari_das.core.data.dataset import make_dataset
    from napari_das.core.inference.files import predict_paths
    from napari_das.core.training.train import train

    started = time.perf_counter()
    songs = tmp_path / TRAIN_DAY
    songs.mkdir()
    for path in (finch_dir / TRAIN_DAY).iterdir():
        os.symlink(path, songs / path.name)
    summary = make_dataset(DatasetConfig(
        data_folder=str(songs), store_folder=str(tmp_path / "finch.npy"), train_fraction=0.8,
        val_fraction=0.2, test_fraction=0.0, seed=1))
    assert summary.nb_files == 12 and summary.samplerate == 32000.0
    assert summary.class_names[0] == "noise" and {"i", "0", "a", "k"} <= set(summary.class_names)
    assert not {"-", "x"} & set(summary.class_names)  # the rare labels are only on day 2

    training = TrainingConfig(
        data_dir=str(tmp_path / "finch.npy"), save_dir=str(tmp_path / "res"), save_name="finch",
        nb_epoch=10, steps_per_epoch=80, validation_steps=20, batch_size=32, seed=SEED,
        version_data=False)
    result = train(NETWORK, training)
    trained = time.perf_counter()
    assert not result.stopped and result.best_epoch is not None
    assert min(result.history["val_loss"]) < result.history["val_loss"][0]
    found = yaml.safe_load(open(result.params_path))["post_opt"]  # chosen on the val split
    assert {"gap_dur", "min_len", "score_val", "onset_f1", "offset_f1"} <= set(found)
    assert found["gap_dur"] <= found["max_gap_dur"] and found["min_len"] <= found["max_min_len"]

    config = PredictionConfig(segment_fillgap=FILL_GAP_S, segment_minlen=MIN_LEN_S)
    outcome = predict_paths(str(finch_dir / TEST_DAY), result.save_name, config,
                            save_filename=str(tmp_path / "predicted"))
    assert outcome.ok and len(outcome.files) == 10
    predicted = time.perf_counter()
    # without fill gap/min length, das predict uses the values chosen at training
    optimized = predict_paths(str(finch_dir / TEST_DAY), result.save_name,
                              save_filename=str(tmp_path / "optimized"))
    assert optimized.ok

    s = score_folder(finch_dir / TEST_DAY, tmp_path / "predicted")
    o = score_folder(finch_dir / TEST_DAY, tmp_path / "optimized")
    total = time.perf_counter() - started
    print(f"\nfinch {TEST_DAY}: {s['files']} files, {s['syllables']} syllables; "
          f"onset F1 {s['onset_f1']:.3f}, offset F1 {s['offset_f1']:.3f} "
          f"(tp/fp/fn {s['counts']}), syllable error rate {s['syllable_error_rate']:.3f}; "
          f"best epoch {result.best_epoch} of {result.epochs}; seed {SEED}; train {trained - started:.0f} s, "
          f"predict {predicted - trained:.0f} s, total {total:.0f} s")
    print(f"chosen (fill gap {1000 * found['gap_dur']:.2f} ms, min length "
          f"{1000 * found['min_len']:.2f} ms, val score {found['score_val']:.3f}): onset F1 "
          f"{o['onset_f1']:.3f}, offset F1 {o['offset_f1']:.3f}, syllable error rate "
          f"{o['syllable_error_rate']:.3f}")
    assert s["files"] == 10 and s["syllables"] == 604
    # seeds 1/2/3 default / AVX2: onset 0.918/0.945/0.961 / 0.931/0.946/0.914, offset
    # 0.904/0.911/0.966 / 0.913/0.899/0.878, error rate 0.094/0.096/0.060 / 0.111/0.084/0.118
    assert s["onset_f1"] > ONSET_MIN, s
    assert s["offset_f1"] > OFFSET_MIN, s
    assert s["syllable_error_rate"] < SER_MAX, s
    # chosen, default / AVX2: onset 0.947/0.945/0.970 / 0.920/0.961/0.939, offset
    # 0.924/0.891/0.970 / 0.892/0.921/0.907, error rate 0.089/0.094/0.063 / 0.119/0.075/0.083
    assert o["onset_f1"] > ONSET_MIN and o["offset_f1"] > OFFSET_MIN_CHOSEN, o
    assert o["syllable_error_rate"] < SER_MAX, o
