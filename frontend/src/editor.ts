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

// The API's address comes from the page rather than from ./paths: a module
// this chunk shared with the page's code would be a chunk of its own, one more
// file the page waits for before it starts.
let promql: PromQLExtension | null = null;
const language = (apiBase: string): PromQLExtension =>
  (promql ??= new PromQLExtension().setComplete({
    remote: { url: apiBase, httpMethod: "GET", cache: { maxAge: 60_000 } },
  }));

export interface Editor {
  view: EditorView;
  value(): string;
  set(text: string): void;
}

/** An editor in `parent`; Enter runs `onRun`, Shift+Enter inserts a new line.
 * `apiBase`: the origin and --web.route-prefix the completion asks. */
export function createEditor(parent: HTMLElement, text: string, onRun: () => void, apiBase: string): Editor {
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
        language(apiBase).asExtension(),
      ],
    }),
  });
  return {
    view,
    value: () => view.state.doc.toString(),
    set: (t: string) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: t } }),
  };
}
