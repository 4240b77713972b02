"""After baking: give the chart's named templates the chart's own name, and print the next steps.

Cookiecutter copies ``chart/templates`` without rendering (it is Go template
syntax, not Jinja), so the helpers there are written with a placeholder prefix
and renamed here, as ``helm create`` would name them: helpers stay unique when
the chart is used as a subchart. The next steps are the commands of the baked
README's "Run it" section, read from it, so the two never disagree.
Standard library only.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

PLACEHOLDER = '"__chart__.'


def namespace_helpers(templates: Path, chart_name: str) -> list[Path]:
    """Rename every placeholder helper under ``templates``; returns the files changed."""
    changed = []
    for path in sorted(templates.rglob("*")):
        if not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        if PLACEHOLDER in text:
            path.write_text(text.replace(PLACEHOLDER, f'"{chart_name}.'), encoding="utf-8")
            changed.append(path)
    return changed


def run_it_commands(readme: str) -> list[str]:
    """The shell commands of the README's "Run it" section, in order, one per line of its blocks.

    The last heading of that name: the description, above it, is the user's text.
    """
    section = readme.rsplit("\n## Run it\n", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, flags=re.DOTALL)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def next_steps(project: Path) -> str:
    commands = run_it_commands((project / "README.md").read_text(encoding="utf-8"))
    lines = [f"Baked {project.name}. Next steps (README.md, 'Run it'):", f"  cd {project.name}"]
    lines += [f"  {command}" for command in commands]
    return "\n".join(lines)


# The default repository_url: a placeholder under example.com (RFC 2606), no one's repository.
PLACEHOLDER_HOST = "git.example.com"


def repository_reminder(repository_url: str) -> str | None:
    """A line asking for the real repository when the bake kept the placeholder: alerts link runbooks there."""
    if f"//{PLACEHOLDER_HOST}/" not in repository_url:
        return None
    return (
        f"repository_url is the placeholder {repository_url}: every alert's runbook_url points there. Set"
        " prometheusRule.runbookBaseUrl in chart/values.yaml to <your repository>/blob/main/docs/runbooks."
    )


def main(chart_name: str, repository_url: str) -> int:
    namespace_helpers(Path("chart") / "templates", chart_name)
    print(next_steps(Path.cwd()))
    reminder = repository_reminder(repository_url)
    if reminder:
        print(reminder)
    return 0


if __name__ == "__main__":
    sys.exit(main("{{ cookiecutter.__chart_name }}", "{{ cookiecutter.repository_url }}"))
