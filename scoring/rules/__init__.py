"""The points-rules scoring engine (issue 3): fit + intent + decay -> tier, stage, action.

    >>> scorer = RulesScorer(load_config("omnichannel"))
    >>> scorer.version.startswith("omnichannel-1+")
    True

Deterministic: a score is f(lead, activities, config version, as_of), so any past score
can be recomputed exactly. `score` runs the plain reference path, `score_many` the
vectorized one; both give identical results.
"""

from leadbridge.scoring.rules.batch import BatchScores
from leadbridge.scoring.rules.breakdown import Breakdown, build_result
from leadbridge.scoring.rules.columns import EventColumns, LeadColumns, columns_from_items
from leadbridge.scoring.rules.compiled import CompiledConfig, compile_config, to_us
from leadbridge.scoring.rules.config import ScoringConfig
from leadbridge.scoring.rules.explanation import explain
from leadbridge.scoring.rules.history import (
    ScoreDiff,
    diff,
    format_diff,
    from_history_row,
    replay,
    rescore_plan,
    to_history_row,
    verify_history,
)
from leadbridge.scoring.rules.kernel import score_columns
from leadbridge.scoring.rules.loader import PRESETS, load_config, parse_config
from leadbridge.scoring.rules.offline import parse_as_of, result_record, score_file
from leadbridge.scoring.rules.reference import reference_breakdown, reference_score
from leadbridge.scoring.rules.scorer import RulesScorer

__all__ = [
    "PRESETS",
    "BatchScores",
    "Breakdown",
    "CompiledConfig",
    "EventColumns",
    "LeadColumns",
    "RulesScorer",
    "ScoreDiff",
    "ScoringConfig",
    "build_result",
    "columns_from_items",
    "compile_config",
    "diff",
    "explain",
    "format_diff",
    "from_history_row",
    "load_config",
    "parse_as_of",
    "parse_config",
    "reference_breakdown",
    "reference_score",
    "replay",
    "rescore_plan",
    "result_record",
    "score_columns",
    "score_file",
    "to_history_row",
    "to_us",
    "verify_history",
]
