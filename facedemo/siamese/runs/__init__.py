"""Training runs on disk: the run directory, its one writer, its readers and its lifecycle.

The pages, the CLI and scripts use the names below as ``runs.<name>``; the library
imports them from their homes:

- ``layout``: the contract, where each file lives (``RunLayout``), the checkpoint
  record and the pair pictures' format, and the readers' one way into a JSON file;
- ``processes``: which process is a run's (pid and start time, ``is_alive``);
- ``writer``: ``RunWriter``, the only code that writes in a run directory (the
  launcher's files and the trainer's);
- ``status``: the state machine (status.json against launch.json and the living
  processes), the checkpoint record, finding and listing runs;
- ``settings``: config.json, the settings, device and versions, said for people, and
  who is in which part of the split;
- ``logs``: metrics.jsonl read incrementally, progress and time left, the epoch
  table, the tail of train.log;
- ``results``: the preview and misclassified pictures, the tower's outputs epoch by
  epoch (space.npz), eval.json, the runs with test pairs;
- ``lifecycle``: start (from the page or a terminal), resume and stop; launching
  the trainer.

Reading never fails on what a crash can leave behind: a torn last line of the
metrics log is skipped, and a run whose process has vanished while its status
says it runs is reported as "interrupted".
"""

from facedemo.siamese.runs.layout import Checkpoint, EpochSpace, PairImages, RunLayout
from facedemo.siamese.runs.lifecycle import (
    check_devices,
    check_resumable,
    create_run,
    dataset_source,
    new_run_id,
    page_dataset,
    resume_run,
    start_preset,
    start_run,
    stop_run,
)
from facedemo.siamese.runs.logs import (
    RunProgress,
    epoch_table,
    output_tells_why,
    progress,
    read_log_tail,
    read_metrics,
)
from facedemo.siamese.runs.processes import is_alive, process_start_time
from facedemo.siamese.runs.results import (
    TEST_PAIRS_SCORES,
    available_test_pairs,
    no_better_than_chance,
    read_eval,
    read_misclassified,
    read_pairs,
    read_preview,
    read_space,
    runs_with_test_pairs,
    test_pair_counts,
)
from facedemo.siamese.runs.settings import (
    SPLIT_PARTS,
    SplitPart,
    describe_device,
    describe_engine,
    has_settings,
    read_config,
    read_settings,
    read_split,
    trained_on_warning,
    trained_people,
)
from facedemo.siamese.runs.status import (
    STATES,
    UNREADABLE,
    RunStatus,
    checkpoint_path,
    find_run,
    list_runs,
    read_checkpoint,
    read_status,
    resume_would,
    training_over,
)
from facedemo.siamese.runs.writer import RunWriter

__all__ = [
    "SPLIT_PARTS",
    "STATES",
    "TEST_PAIRS_SCORES",
    "UNREADABLE",
    "Checkpoint",
    "EpochSpace",
    "PairImages",
    "RunLayout",
    "RunProgress",
    "RunStatus",
    "RunWriter",
    "SplitPart",
    "available_test_pairs",
    "check_devices",
    "check_resumable",
    "checkpoint_path",
    "create_run",
    "dataset_source",
    "describe_device",
    "describe_engine",
    "epoch_table",
    "find_run",
    "has_settings",
    "is_alive",
    "list_runs",
    "new_run_id",
    "no_better_than_chance",
    "output_tells_why",
    "page_dataset",
    "process_start_time",
    "progress",
    "read_checkpoint",
    "read_config",
    "read_eval",
    "read_log_tail",
    "read_metrics",
    "read_misclassified",
    "read_pairs",
    "read_preview",
    "read_settings",
    "read_space",
    "read_split",
    "read_status",
    "resume_run",
    "resume_would",
    "runs_with_test_pairs",
    "start_preset",
    "start_run",
    "stop_run",
    "test_pair_counts",
    "trained_on_warning",
    "trained_people",
    "training_over",
]
