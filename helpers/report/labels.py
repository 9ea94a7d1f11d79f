"""Every heading and label of the report, in Chinese (``zh``) and English (``en``).

The notebook's own prose, headings and outputs stay as the notebook has them; only what the report
adds is translated.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from helpers import pages
from helpers.report.model import Step, TextOutput

LABELS = {
    "zh": {
        "report": "实验报告",
        "course": "课程名称",
        "title": "实验题目",
        "teacher": "指导教师",
        "name": "姓名",
        "student_number": "学号",
        "class": "班级",
        "date": "日期",
        "email": "电子邮件",
        "score": "自动评分",
        "score_value": "{score:g} / {max_score:g} 分（course check）",
        "grade": "成绩",
        "signature": "教师签字",
        "purpose": "一、实验目的",
        "principles": "二、实验原理",
        "principles_from": "（摘自笔记本中每个练习前的讲解。）",
        "environment": "三、实验软件和硬件环境",
        "software": "软件",
        "hardware": "硬件",
        "os": "操作系统",
        "cpu": "处理器",
        "cores": "逻辑核心数",
        "memory": "内存",
        "gpu": "GPU",
        "no_gpu": "无",
        "memory_value": "{gb:g} GB",
        "not_installed": "未安装",
        "steps": "四、实验步骤",
        "summary": "各练习得分",
        "function": "函数",
        "points": "得分",
        "result": "结果",
        "exercise": "练习 {number} - {name}",
        "code": "关键代码（我写的部分）",
        "output": "运行输出",
        "expected": "预期输出",
        "self_check": "自测单元格输出",
        "figure": "图 {number}",
        "figure_caption": "图 {number}：{step}",
        "points_line": "得分：{points:g} / {max_points:g}",
        "passed": "全部通过",
        "failed": "未通过",
        "lost": "未通过：{message}",
        "check": "检查：{check}",
        "check_passed": "通过",
        "check_failed": "未通过",
        "check_points": "{points:g} / {max_points:g} 分",
        "colon": "：",
        "reason": "原因",
        "Likely mistake": "可能的错误",
        "Hint": "提示",
        "What the error looks like": "错误的特征",
        "Why": "原因",
        "unwritten": "尚未完成：函数仍抛出 NotImplementedError，得 0 分。",
        "missing_cell": "笔记本中没有这个函数的单元格，得 0 分。",
        "unwritten_short": "尚未完成",
        "full_check": "完整检查（含隐藏测试）",
        "conclusions": "五、结论分析与体会",
        "questions": "六、问题与解答",
        "empty_section": "（本节为空：请在笔记本末尾的「{cell}」单元格中填写，然后重新生成报告。）",
        "no_section_cell": "（笔记本中没有「{cell}」单元格：从 release/ 中的笔记本复制这个单元格并填写。）",
        "missing_field": "（未填写）",
        "ran_fast": "本笔记本此前从未运行：course report 在快速模式（COURSE_FAST=1）下运行了它的副本，"
        "训练被缩短，因此训练相关的数值与完整运行不同。",
        "ran_fast_holes": "本笔记本有 {n} 个代码单元格从未运行（从「{step}」起；多半是“全部运行”在一个出错的单元格处停下了）："
        "course report 在快速模式（COURSE_FAST=1）下从头运行了它的副本，本报告的输出和图都来自这次运行；"
        "训练被缩短，因此训练相关的数值与完整运行不同。",
        "ran_fast_rerun": "应 --rerun 的要求，course report 在快速模式（COURSE_FAST=1）下重新运行了本笔记本的副本，"
        "训练被缩短，因此训练相关的数值与完整运行不同。",
        "left_out": "…… 省略 {n} 行 ……",
        "notes": "评分说明",
        "no_profile": "未找到学生信息文件 {path}：运行 course profile 创建它，封面上的空项已标出。",
        "page": "第 {page} 页",
    },
    "en": {
        "report": "Lab report",
        "course": "Course",
        "title": "Lab",
        "teacher": "Teacher",
        "name": "Name",
        "student_number": "Student number",
        "class": "Class",
        "date": "Date",
        "email": "E-mail",
        "score": "Autograder score",
        "score_value": "{score:g} / {max_score:g} (course check)",
        "grade": "Grade",
        "signature": "Teacher's signature",
        "purpose": "1 Purpose",
        "principles": "2 Principles",
        "principles_from": "(From the explanations before each exercise of the notebook.)",
        "environment": "3 Software and hardware",
        "software": "Software",
        "hardware": "Hardware",
        "os": "Operating system",
        "cpu": "CPU",
        "cores": "Logical cores",
        "memory": "Memory",
        "gpu": "GPU",
        "no_gpu": "none",
        "memory_value": "{gb:g} GB",
        "not_installed": "not installed",
        "steps": "4 Steps",
        "summary": "Points per exercise",
        "function": "Function",
        "points": "Points",
        "result": "Result",
        "exercise": "Exercise {number} - {name}",
        "code": "Key code (what I wrote)",
        "output": "Output",
        "expected": "Expected output",
        "self_check": "Self-check cells printed",
        "figure": "Figure {number}",
        "figure_caption": "Figure {number}: {step}",
        "points_line": "Points: {points:g} / {max_points:g}",
        "passed": "all checks passed",
        "failed": "not passed",
        "lost": "not passed: {message}",
        "check": "Check: {check}",
        "check_passed": "passed",
        "check_failed": "not passed",
        "check_points": "{points:g} / {max_points:g} points",
        "colon": ": ",
        "reason": "Reason",
        "Likely mistake": "Likely mistake",
        "Hint": "Hint",
        "What the error looks like": "What the error looks like",
        "Why": "Why",
        "unwritten": "Not written yet: the function still raises NotImplementedError (0 points).",
        "missing_cell": "The notebook has no cell for this function (0 points).",
        "unwritten_short": "not written yet",
        "full_check": "Full check (hidden tests included)",
        "conclusions": "5 Conclusions",
        "questions": "6 Questions and answers",
        "empty_section": "(This section is empty: write it in the \u201c{cell}\u201d cell at the end of the notebook, "
        "then make the report again.)",
        "no_section_cell": "(The notebook has no \u201c{cell}\u201d cell: copy it from the notebook in release/ "
        "and fill it in.)",
        "missing_field": "(missing)",
        "ran_fast": "This notebook had never been run: course report ran a copy of it in fast mode "
        "(COURSE_FAST=1), with training shortened, so numbers that depend on training differ "
        "from a full run.",
        "ran_fast_holes": "{n} code cells of this notebook had never run (from \u201c{step}\u201d on; Run All probably "
        "stopped at a cell that raised an error): course report ran a copy of it from the top in "
        "fast mode (COURSE_FAST=1), and this report's outputs and figures come from that run, "
        "with training shortened, so numbers that depend on training differ from a full run.",
        "ran_fast_rerun": "As --rerun asked, course report ran a copy of this notebook again in fast mode "
        "(COURSE_FAST=1), with training shortened, so numbers that depend on training differ "
        "from a full run.",
        "left_out": "... {n} lines left out ...",
        "notes": "Grading notes",
        "no_profile": "No student profile at {path}: run course profile to make one; the blank cover fields are flagged.",
        "page": "Page {page}",
    },
}

# The lab's title and purpose in Chinese, until the Chinese edition of the notebooks has them
# (build.prose_notebook takes them from there once its catalogue is complete).
ASSIGNMENT_TEXT = {
    "zh": {
        "cnn_step_by_step": {
            "title": "卷积神经网络，一步一步来",
            "purpose": "用 numpy 亲手实现卷积层和池化层的前向传播与反向传播（零填充、卷积、最大池化与平均池化），"
            "理解卷积网络中每一步的计算，并用梯度检验确认反向传播的正确性。",
        },
        "cnn_application": {
            "title": "卷积神经网络的应用",
            "purpose": "用 TensorFlow/Keras 搭建并训练一个卷积神经网络，识别 SIGNS 数据集中表示数字 0–5 的手势图像，"
            "掌握卷积层、池化层、全连接层和损失函数在框架中的用法。",
        },
        "residual_networks": {
            "title": "残差网络",
            "purpose": "用 Keras 的函数式 API 实现恒等块和卷积块，搭建 50 层的残差网络 ResNet50，"
            "理解残差连接为何能让很深的网络得以训练，并用它识别手势图像。",
        },
    },
}

SECTION_CELLS = {"conclusions": "结论分析与体会 · Conclusions", "questions": "问题与解答 · Questions and answers"}


def labels(lang: str) -> dict[str, str]:
    return LABELS[lang]


def run_note(report) -> str:
    """What the report says of the run its outputs come from: "" when they are the student's own."""
    t = LABELS[report.lang]
    if not report.ran_fast:
        return ""
    if report.run_reason == "holes":
        return t["ran_fast_holes"].format(n=report.never_ran, step=report.never_ran_from or "?")
    return t["ran_fast_rerun" if report.run_reason == "rerun" else "ran_fast"]


def heading_text(text: str, lang: str) -> str:
    """A notebook heading for the report: markdown code marks removed, "Exercise N" translated."""
    plain = text.replace("`", "")
    match = re.match(r"^(?:Exercise|练习)\s*(\d+)\s*[-–:]\s*(.*)$", plain, re.I)
    if match:
        return LABELS[lang]["exercise"].format(number=match.group(1), name=match.group(2))
    return plain


SUMMARY_REASON_CHARS = 120  # the reason in the summary table: its first line, cut to this


def _reason(message: str) -> str:
    first = (message or "").strip().splitlines()[:1]
    text = first[0] if first else ""
    return text if len(text) <= SUMMARY_REASON_CHARS else text[: SUMMARY_REASON_CHARS - 1] + "\u2026"


def function_result(step: Step, t: dict) -> str:
    """The summary table's result of a graded function: passed, not written yet, or not passed and why."""
    p = step.points
    if p.points >= p.max_points:
        return t["passed"]
    if step.unwritten or step.missing:
        return t["unwritten_short"]
    failed = next((x for x in p.tests if x.points < x.max_points), None)
    reason = _reason(failed.message) if failed is not None else ""
    return t["lost"].format(message=reason) if reason else t["failed"]


@dataclass
class CheckBox:
    """One check (test cell) of a graded function as the report shows it."""

    title: str  # which check: its one-line description, or its grade id
    passed: bool
    state: str  # "通过" / "未通过（0 / 5 分）"
    printed: list[TextOutput] = field(default_factory=list)  # what its visible test cell printed
    reasons: list[tuple[str, str]] = field(default_factory=list)  # (label, text) of the grader's message


def check_boxes(step: Step, t: dict) -> list[CheckBox]:
    """A box per check of the step's function, in order (none for an unwritten or missing function).

    What a test cell printed goes in its check's box; a failed check also shows the grader's message,
    its parts labelled (reason, likely mistake, hint). Output of a cell that is not a graded check
    gets a box of its own under the "self-check" label.
    """
    if step.points is None or step.unwritten or step.missing:
        return [CheckBox(t["self_check"], True, "", step.self_checks)] if step.self_checks else []
    boxes, shown = [], set()
    for test in step.points.tests:
        passed = test.points >= test.max_points
        points = t["check_points"].format(points=test.points, max_points=test.max_points)
        state = f"{t['check_passed' if passed else 'check_failed']} ({points})"
        # A failed check's own error is what the grader's message says, more fully: that message stands for it.
        printed = [o for o in step.self_checks if o.check == test.grade_id and (passed or not o.error)]
        shown.add(test.grade_id)
        reasons = (
            []
            if passed
            else [
                (t.get(label, label) if label else t["reason"], text)
                for label, text in pages.message_parts(test.message)
            ]
        )
        boxes.append(
            CheckBox(t["check"].format(check=test.description or test.grade_id), passed, state, printed, reasons)
        )
    rest = [o for o in step.self_checks if o.check not in shown]  # no test of this function printed it
    if rest:
        boxes.append(CheckBox(t["self_check"], True, "", rest))
    return boxes
