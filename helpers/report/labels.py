"""Every heading and label of the report, in Chinese (``zh``) and English (``en``).

The notebook's own prose, headings and outputs stay as the notebook has them; only what the report
adds is translated.
"""

from __future__ import annotations

import re

LABELS = {
    "zh": {
        "report": "实验报告",
        "course": "课程名称", "title": "实验题目", "teacher": "指导教师",
        "name": "姓名", "student_number": "学号", "class": "班级", "date": "日期", "email": "电子邮件",
        "score": "自动评分", "score_value": "{score:g} / {max_score:g} 分（course check）",
        "purpose": "一、实验目的",
        "environment": "二、实验软件和硬件环境",
        "software": "软件", "hardware": "硬件",
        "os": "操作系统", "cpu": "处理器", "cores": "逻辑核心数", "memory": "内存", "gpu": "GPU",
        "no_gpu": "无", "memory_value": "{gb:g} GB", "not_installed": "未安装",
        "steps": "三、实验步骤",
        "summary": "各练习得分", "function": "函数", "points": "得分", "result": "结果",
        "exercise": "练习 {number} - {name}",
        "code": "关键代码（我写的部分）",
        "output": "运行输出", "expected": "预期输出", "self_check": "自测单元格输出",
        "figure": "图 {number}", "figure_caption": "图 {number}：{step}",
        "points_line": "得分：{points:g} / {max_points:g}",
        "passed": "全部通过", "lost": "未通过：{message}",
        "unwritten": "尚未完成：函数仍抛出 NotImplementedError，得 0 分。",
        "missing_cell": "笔记本中没有这个函数的单元格，得 0 分。",
        "unwritten_short": "尚未完成", "full_check": "完整检查（含隐藏测试）",
        "conclusions": "四、结论分析与体会",
        "questions": "五、问题与解答",
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
        "course": "Course", "title": "Lab", "teacher": "Teacher",
        "name": "Name", "student_number": "Student number", "class": "Class", "date": "Date", "email": "E-mail",
        "score": "Autograder score", "score_value": "{score:g} / {max_score:g} (course check)",
        "purpose": "1 Purpose",
        "environment": "2 Software and hardware",
        "software": "Software", "hardware": "Hardware",
        "os": "Operating system", "cpu": "CPU", "cores": "Logical cores", "memory": "Memory", "gpu": "GPU",
        "no_gpu": "none", "memory_value": "{gb:g} GB", "not_installed": "not installed",
        "steps": "3 Steps",
        "summary": "Points per exercise", "function": "Function", "points": "Points", "result": "Result",
        "exercise": "Exercise {number} - {name}",
        "code": "Key code (what I wrote)",
        "output": "Output", "expected": "Expected output", "self_check": "Self-check cells printed",
        "figure": "Figure {number}", "figure_caption": "Figure {number}: {step}",
        "points_line": "Points: {points:g} / {max_points:g}",
        "passed": "all checks passed", "lost": "failed: {message}",
        "unwritten": "Not written yet: the function still raises NotImplementedError (0 points).",
        "missing_cell": "The notebook has no cell for this function (0 points).",
        "unwritten_short": "not written yet", "full_check": "Full check (hidden tests included)",
        "conclusions": "4 Conclusions",
        "questions": "5 Questions and answers",
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
    match = re.match(r"^Exercise\s+(\d+)\s*[-–:]\s*(.*)$", plain, re.I)
    if match:
        return LABELS[lang]["exercise"].format(number=match.group(1), name=match.group(2))
    return plain
