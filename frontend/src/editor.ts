// The PromQL editor: CodeMirror 6 with codemirror-promql's highlighting,
// linting and completion (functions offline; metric names, label names and
// values from our own API).

import { closeBrackets, autocompletion, closeBracketsKeymap, completionKeymap } from "@codemirror/autocomplete";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { bracketMatching, syntaxHighlighting, defaultHighlightStyle } from "@codemirror/language";
import { lintGutter } from "@codemirror/lint";
import { EditorState, Prec } from "@codemirror/state";
import { EditorView, keymap, placeholder } from "@codemirror/view";
import { PromQLExtension } from "@prometheus-io/codemirror-promql";
import { PREFIX } from "./paths";

const promql = new PromQLExtension().setComplete({
  remote: { url: window.location.origin + PREFIX, httpMethod: "GET", cache: { maxAge: 60_000 } },
});

export interface Editor {
  view: EditorView;
  value(): string;
  set(text: string): void;
}

/** An editor in `parent`; Enter runs `onRun`, Shift+Enter inserts a new line. */
export function createEditor(parent: HTMLElement, text: string, onRun: () => void): Editor {
  const run = Prec.highest(
    keymap.of([{ key: "Enter", run: () => { onRun(); return true; } }]),
  );
  const view = new EditorView({
    parent,
    state: EditorState.create({
      doc: text,
      extensions: [
        run,
        history(),
        closeBrackets(),
        bracketMatching(),
        autocompletion(),
        lintGutter(),
        syntaxHighlighting(defaultHighlightStyle),
        keymap.of([...closeBracketsKeymap, ...defaultKeymap, ...historyKeymap, ...completionKeymap]),
        placeholder("Expression (press Shift+Enter for newlines)"),
        EditorView.lineWrapping,
        promql.asExtension(),
      ],
    }),
  });
  return {
    view,
    value: () => view.state.doc.toString(),
    set: (t: string) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: t } }),
  };
}
