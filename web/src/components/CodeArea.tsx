// A plain-text code area for configuration content: monospace, line numbers
// in a gutter that scrolls with the text, Tab indents with two spaces (YAML
// refuses tabs), and the line the server named in an error marked.
import { useRef, type CSSProperties, type KeyboardEvent } from 'react';

const font: CSSProperties = { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', fontSize: 13, lineHeight: '20px' };

/** errorLine reads the line a server's reason names ("… line 3: …"), if any. */
export function errorLine(reason?: string): number | undefined {
  const m = /\bline (\d+)\b/.exec(reason ?? '');
  return m ? Number(m[1]) : undefined;
}

interface Props {
  value?: string;
  onChange?: (v: string) => void;
  /** mark is a line (from 1) to show as wrong. */
  mark?: number;
  readOnly?: boolean;
  rows?: number;
  id?: string;
  'aria-label'?: string;
  'aria-invalid'?: boolean;
}

/** CodeArea edits (or shows) text with line numbers; a Form control. */
export function CodeArea({ value = '', onChange, mark, readOnly, rows = 16, id, ...aria }: Props) {
  const gutter = useRef<HTMLDivElement>(null);
  const lines = Math.max(value.split('\n').length, 1);
  const keyDown = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (e.key !== 'Tab' || readOnly || e.shiftKey || e.ctrlKey || e.metaKey || e.altKey) return;
    e.preventDefault();
    const el = e.currentTarget;
    const { selectionStart: s, selectionEnd: end } = el;
    onChange?.(value.slice(0, s) + '  ' + value.slice(end));
    requestAnimationFrame(() => el.setSelectionRange(s + 2, s + 2));
  };
  return (
    <div
      style={{ display: 'flex', border: '1px solid #d9d9d9', borderRadius: 6, background: readOnly ? '#fafafa' : '#fff', overflow: 'hidden' }}
      data-testid="code-area"
    >
      <div
        ref={gutter}
        aria-hidden
        style={{ ...font, padding: '4px 0', minWidth: 44, textAlign: 'right', color: '#999', background: '#f5f5f5', overflow: 'hidden', userSelect: 'none', height: rows * 20 + 8 }}
      >
        {Array.from({ length: lines }, (_, i) => (
          <div
            key={i}
            data-line={i + 1}
            data-marked={mark === i + 1 || undefined}
            style={{ padding: '0 8px', ...(mark === i + 1 ? { background: '#ffccc7', color: '#a8071a', fontWeight: 600 } : {}) }}
          >
            {i + 1}
          </div>
        ))}
      </div>
      <textarea
        id={id}
        {...aria}
        value={value}
        readOnly={readOnly}
        spellCheck={false}
        wrap="off"
        onChange={(e) => onChange?.(e.target.value)}
        onKeyDown={keyDown}
        onScroll={(e) => {
          if (gutter.current) gutter.current.scrollTop = e.currentTarget.scrollTop;
        }}
        style={{ ...font, flex: 1, border: 'none', outline: 'none', resize: 'none', padding: '4px 8px', height: rows * 20 + 8, whiteSpace: 'pre', background: 'transparent', tabSize: 2 }}
      />
    </div>
  );
}
