import { yaml } from '@codemirror/lang-yaml';
import { type Diagnostic, linter, lintGutter } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView } from '@codemirror/view';
import { check } from '@hubstream/valve';
import { basicSetup } from 'codemirror';
import { useEffect, useRef } from 'react';
import { rangeOf } from '../lib/valve-lint.ts';

/** Valve's own checker, run in the browser as the developer types. */
export function valveDiagnostics(text: string): Diagnostic[] {
  const report = check(text);
  return report.errors.map((error) => ({
    ...rangeOf(text, error),
    severity: 'error',
    source: error.code,
    message: error.message,
  }));
}

const valveLinter = linter((view) => valveDiagnostics(view.state.doc.toString()), { delay: 250 });

export function ValveEditor({
  value,
  onChange,
  labelId,
  describedBy,
  readOnly = false,
}: {
  value: string;
  onChange(value: string): void;
  labelId: string;
  describedBy?: string;
  /** Shown, selectable and copyable, but not editable (a role that may not change rules). */
  readOnly?: boolean;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const change = useRef(onChange);
  change.current = onChange;

  // biome-ignore lint/correctness/useExhaustiveDependencies: the editor is created once; value changes are pushed below
  useEffect(() => {
    if (!host.current) return;
    const editor = new EditorView({
      parent: host.current,
      doc: value,
      extensions: [
        basicSetup,
        yaml(),
        lintGutter(),
        valveLinter,
        EditorView.lineWrapping,
        EditorState.readOnly.of(readOnly),
        EditorView.contentAttributes.of({
          // Focusable in the accessibility tree's terms too (it is already,
          // being editable), so its scrolling box counts as reachable.
          tabindex: '0',
          'aria-labelledby': labelId,
          ...(readOnly ? { 'aria-readonly': 'true' } : {}),
          ...(describedBy ? { 'aria-describedby': describedBy } : {}),
        }),
        EditorView.updateListener.of((update) => {
          if (update.docChanged) change.current(update.state.doc.toString());
        }),
      ],
    });
    view.current = editor;
    return () => {
      editor.destroy();
      view.current = null;
    };
  }, []);

  // A new text from outside (a loaded version, a rollback) replaces the document.
  useEffect(() => {
    const editor = view.current;
    if (!editor) return;
    const current = editor.state.doc.toString();
    if (current !== value)
      editor.dispatch({ changes: { from: 0, to: current.length, insert: value } });
  }, [value]);

  return <div ref={host} className="editor" data-testid="valve-editor" />;
}
