"""Every catalogue variant of the three assignments (``source/<id>/{wrong,correct}_variants.json``).

Variants are judged in packs (``conftest.variant_packs``). Fast tier: every pack judged in this process
(``conftest.judge_in_process``: the grader's test cells, checks, comparator and diagnosis, the student's
functions called here) loses exactly what its variants declare, each failed cell naming its variant;
and cnn_step_by_step's representative pack graded in a real kernel agrees with the in-process judge
cell by cell (status, points, mistake). Exhaustive tier: every pack graded in a real kernel loses exactly its
variants' points, and agrees with the in-process judge cell by cell.
"""

from __future__ import annotations

import pytest

from conftest import (
    ASSIGNMENTS,
    KERNEL_PACK_ASSIGNMENTS,
    REPRESENTATIVE_PACK,
    assert_pack_loses_exactly,
    assert_variant_loses_exactly,
    judge_in_process,
    pack_of,
    pack_student,
    variant_names,
    variant_packs,
    verdicts,
)

PACKS = [(assignment, k) for assignment in ASSIGNMENTS for k in range(len(variant_packs(assignment)))]
PACK_IDS = [f"{assignment}-{pack_student(k)}" for assignment, k in PACKS]
VARIANTS = [
    (assignment, name)
    for assignment in ASSIGNMENTS
    for name in variant_names(assignment, "wrong") + variant_names(assignment, "correct")
]


@pytest.mark.parametrize("assignment, k", PACKS, ids=PACK_IDS)
def test_each_pack_judged_in_process_loses_exactly_what_its_variants_declare(assignment, k):
    pack = variant_packs(assignment)[k]
    assert_pack_loses_exactly(assignment, pack, judge_in_process(assignment, pack))


@pytest.mark.slow
@pytest.mark.parametrize("assignment", KERNEL_PACK_ASSIGNMENTS)
def test_a_pack_graded_in_a_kernel_agrees_with_the_in_process_judge(graded_references, assignment):
    pack = variant_packs(assignment)[REPRESENTATIVE_PACK]
    result = graded_references[assignment][pack_student(REPRESENTATIVE_PACK)]
    assert result.status == "graded", result.reason
    assert verdicts(result.cells) == verdicts(judge_in_process(assignment, pack)), pack


@pytest.mark.slow
@pytest.mark.exhaustive
@pytest.mark.parametrize("assignment, name", VARIANTS, ids=[f"{a}-{n}" for a, n in VARIANTS])
def test_each_variant_graded_in_a_kernel_loses_exactly_the_points_of_its_mistake(graded_packs, assignment, name):
    """Realistic mistakes lose exactly the cells of the function they break; correct alternatives lose nothing."""
    assert_variant_loses_exactly(graded_packs[assignment][pack_of(assignment, name)[0]], assignment, name)


@pytest.mark.slow
@pytest.mark.exhaustive
@pytest.mark.parametrize("assignment, k", PACKS, ids=PACK_IDS)
def test_every_pack_graded_in_a_kernel_agrees_with_the_in_process_judge(graded_packs, assignment, k):
    pack = variant_packs(assignment)[k]
    result = graded_packs[assignment][pack_student(k)]
    assert verdicts(result.cells) == verdicts(judge_in_process(assignment, pack)), pack
