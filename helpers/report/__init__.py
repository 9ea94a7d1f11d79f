"""``course report``: the lab report (实验报告) of one finished assignment notebook, and its profile.

A report has a cover table (from the student's profile, :mod:`.profile`), the purpose of the lab (the
notebook's introduction), the software and hardware it ran on (detected, :mod:`.environment`), each
step of the notebook with the student's code, the output printed beside the expected output, the
figures and the points of the full check (:mod:`.check`, the same verdict as ``course check``), then
the student's own conclusions and questions (the last two cells of the notebook).

One module owns each thing:

* :mod:`.profile`: the TOML file the student writes once (``notebooks/profile.toml``);
* :mod:`.environment`: Python, library versions, CPU, GPU, operating system;
* :mod:`.check`: the one call into the grader, and points per graded function;
* :mod:`.run`: running a never-run notebook on a private copy, in fast mode;
* :mod:`.notebook`: reading steps, code, outputs, figures and the student's sections from a notebook;
* :mod:`.build`: putting those together into a :class:`~.model.Report`;
* :mod:`.labels`: the headings and labels in Chinese and English;
* :mod:`.markdown`: the notebook's prose into HTML and Word;
* :mod:`.to_html`, :mod:`.to_docx`, :mod:`.to_pdf`: the three outputs.

The same notebook, profile and date give the same bytes in every format.
"""
