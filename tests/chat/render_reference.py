#!/usr/bin/python3
"""Render chat templates as Hugging Face transformers does, for tests/test_jinja.c.

Every template of tests/data/chat_templates is rendered with every conversation
of tests/chat/conversations.json, and every small case of
tests/chat/jinja_cases.json with its own context, in the Jinja environment of
transformers' apply_chat_template (utils/chat_template_utils.py):
ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True), the
loopcontrols extension and the {% generation %} tag, its own tojson filter
(json.dumps, ensure_ascii=False) and the globals raise_exception and
strftime_now.  strftime_now reads a fixed clock (NOW, UTC) instead of the time
of day, so that the C side can render with the same one.

Usage: render_reference.py [--templates DIR] [--conversations FILE]
                           [--cases FILE] [--only NAME] OUT.json

OUT.json holds the clock, the exact context of each conversation (key order
kept), and per template and conversation either {"ok": true, "text": ...} or
{"ok": false, "error": ...}; a template that jinja2 cannot compile has
"parsed": false and its error.  A summary is printed as "# " lines.
"""
import argparse
import copy
import datetime
import json
import os
import sys

import jinja2
import jinja2.ext
import jinja2.nodes
from jinja2.ext import Extension
from jinja2.sandbox import ImmutableSandboxedEnvironment

# 2025-07-01 12:00:00 UTC: the clock strftime_now reads.
NOW = 1751371200
BOS_TOKEN = "<s>"
EOS_TOKEN = "</s>"

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_TEMPLATES = os.path.join(HERE, "..", "data", "chat_templates")
DEFAULT_CONVERSATIONS = os.path.join(HERE, "conversations.json")
DEFAULT_CASES = os.path.join(HERE, "jinja_cases.json")
# Keys of a conversation that are not template variables of their own.
CONVERSATION_KEYS = ("name", "messages", "tools", "documents", "add_generation_prompt",
                     "continue_final_message")


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    # transformers' override: no HTML escaping, and json.dumps' options
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators,
                      sort_keys=sort_keys)


def strftime_now(format):
    return datetime.datetime.fromtimestamp(NOW, tz=datetime.timezone.utc).strftime(format)


class AssistantTracker(Extension):
    """transformers' {% generation %}...{% endgeneration %}: a call block whose
    caller renders the body (so the body is a scope of its own, as a macro's
    caller is); transformers only records where the text fell, when asked."""

    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(["name:endgeneration"], drop_needle=True)
        return jinja2.nodes.CallBlock(self.call_method("_generation_support"), [], [],
                                      body).set_lineno(lineno)

    @jinja2.pass_eval_context
    def _generation_support(self, context, caller):
        return caller()


def make_environment():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True,
                                        extensions=[AssistantTracker, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    return env


def describe(e):
    """One line naming the exception, its message and, where jinja2 knows it,
    the template line."""
    message = str(e) if str(e) else repr(e)
    lineno = getattr(e, "lineno", None)
    text = "%s: %s" % (type(e).__name__, message)
    if lineno is not None:
        text += " (line %d)" % lineno
    return text


def conversation_context(conversation):
    """The variables transformers passes to render(): messages, tools (None
    when there are none), documents, add_generation_prompt, the special
    tokens, then the conversation's own extras (enable_thinking, ...)."""
    context = {
        "messages": conversation["messages"],
        "tools": conversation.get("tools") or None,
        "documents": conversation.get("documents"),
        "add_generation_prompt": bool(conversation.get("add_generation_prompt", False)),
        "bos_token": BOS_TOKEN,
        "eos_token": EOS_TOKEN,
    }
    for key, value in conversation.items():
        if key not in CONVERSATION_KEYS:
            context[key] = value
    return context


def cut_after_final_message(messages, rendered):
    """apply_chat_template(continue_final_message=True): the rendered chat
    ends right after the last message's text (transformers 5's logic)."""
    final_message = messages[-1]["content"]
    if isinstance(final_message, (list, tuple)):
        for block in reversed(final_message):
            if "text" in block:
                final_message = block["text"]
                break
        else:
            raise ValueError("continue_final_message is set but we could not find any text to continue "
                             "in the final message!")
    if final_message.strip() not in rendered:
        raise ValueError("continue_final_message is set but the final message does not appear in the chat "
                         "after applying the chat template!")
    at = rendered.rindex(final_message.strip())
    if rendered[at: at + len(final_message.lstrip())] == final_message:
        return rendered[: at + len(final_message.lstrip())]
    return rendered[: at + len(final_message.strip())]


def render(template, context, continue_final_message=False):
    try:
        text = template.render(**copy.deepcopy(context))
        if continue_final_message:
            text = cut_after_final_message(context["messages"], text)
    except Exception as e:  # noqa: BLE001 -- any failure is the reference's answer
        return {"ok": False, "error": describe(e)}
    return {"ok": True, "text": text}


def compile_source(env, source):
    try:
        return env.from_string(source), None
    except Exception as e:  # noqa: BLE001
        return None, describe(e)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--templates", default=DEFAULT_TEMPLATES)
    parser.add_argument("--conversations", default=DEFAULT_CONVERSATIONS)
    parser.add_argument("--cases", default=DEFAULT_CASES)
    parser.add_argument("--only", help="render only the template of this name (no .jinja)")
    parser.add_argument("out")
    args = parser.parse_args()

    sys.setrecursionlimit(3000)
    env = make_environment()
    with open(args.conversations, encoding="utf-8") as f:
        conversations = json.load(f)
    contexts = [conversation_context(c) for c in conversations]

    templates = []
    names = sorted(n for n in os.listdir(args.templates) if n.endswith(".jinja"))
    for file_name in names:
        name = file_name[: -len(".jinja")]
        if args.only and name != args.only:
            continue
        path = os.path.abspath(os.path.join(args.templates, file_name))
        entry = {"name": name, "file": path}
        with open(path, "rb") as f:
            raw = f.read()
        try:
            source = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            entry.update(parsed=False, error=describe(e), results=[])
            templates.append(entry)
            continue
        template, error = compile_source(env, source)
        if template is None:
            entry.update(parsed=False, error=error, results=[])
        else:
            entry.update(parsed=True, results=[render(template, ctx, bool(c.get("continue_final_message")))
                                               for c, ctx in zip(conversations, contexts)])
        templates.append(entry)

    cases = []
    if args.cases and os.path.exists(args.cases):
        with open(args.cases, encoding="utf-8") as f:
            for case in json.load(f):
                context = case.get("context", {})
                entry = {"name": case["name"], "template": case["template"], "context": context}
                template, error = compile_source(env, case["template"])
                if template is None:
                    entry.update(ok=False, error=error, parsed=False)
                else:
                    entry.update(render(template, context), parsed=True)
                cases.append(entry)

    out = {
        "jinja2_version": jinja2.__version__,
        "python_version": sys.version.split()[0],
        "now": NOW,
        "conversations": [{"name": c["name"], "context": ctx,
                           "continue_final_message": bool(c.get("continue_final_message"))}
                          for c, ctx in zip(conversations, contexts)],
        "templates": templates,
        "cases": cases,
    }
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")

    parsed = [t for t in templates if t["parsed"]]
    full = [t for t in parsed if all(r["ok"] for r in t["results"])]
    renders = sum(r["ok"] for t in parsed for r in t["results"])
    print("# jinja2 %s (Python %s): %d templates, %d conversations; %d compile, %d render every "
          "conversation, %d of %d renders succeed; %d cases (%d render)"
          % (jinja2.__version__, out["python_version"], len(templates), len(conversations),
             len(parsed), len(full), renders, len(parsed) * len(conversations), len(cases),
             sum(c["ok"] for c in cases)))
    for t in templates:
        if not t["parsed"]:
            print("#   %s: jinja2 cannot compile it: %s" % (t["name"], t["error"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
