// The lines that turn one revision into another, as the server computes them
// (GET …/diff): unified (one column, − and +) or side by side, with the line
// numbers of both revisions.
import type { CSSProperties } from 'react';

export interface DiffLine {
  op?: string;
  text?: string;
}

interface Row {
  op: ' ' | '-' | '+';
  old?: number;
  new?: number;
  text: string;
}

const font: CSSProperties = { fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace', fontSize: 13, lineHeight: '20px' };
const bg: Record<string, string> = { '-': '#fff1f0', '+': '#f6ffed', ' ': 'transparent' };
const numStyle: CSSProperties = { color: '#999', textAlign: 'right', padding: '0 8px', userSelect: 'none', width: 1, whiteSpace: 'nowrap', verticalAlign: 'top' };
const textStyle: CSSProperties = { whiteSpace: 'pre', padding: '0 8px' };

/** numbered gives each line its number in the old and the new revision. */
function numbered(lines: DiffLine[]): Row[] {
  let o = 0;
  let n = 0;
  return lines.map((l) => {
    const op = (l.op === '-' || l.op === '+' ? l.op : ' ') as Row['op'];
    if (op === '-') return { op, old: ++o, text: l.text ?? '' };
    if (op === '+') return { op, new: ++n, text: l.text ?? '' };
    return { op, old: ++o, new: ++n, text: l.text ?? '' };
  });
}

/** pairs lays rows side by side: each run of removals beside the additions that follow it. */
function pairs(rows: Row[]): [Row | undefined, Row | undefined][] {
  const out: [Row | undefined, Row | undefined][] = [];
  for (let i = 0; i < rows.length; ) {
    if (rows[i].op === ' ') {
      out.push([rows[i], rows[i]]);
      i++;
      continue;
    }
    const del: Row[] = [];
    const add: Row[] = [];
    while (i < rows.length && rows[i].op === '-') del.push(rows[i++]);
    while (i < rows.length && rows[i].op === '+') add.push(rows[i++]);
    for (let k = 0; k < Math.max(del.length, add.length); k++) out.push([del[k], add[k]]);
  }
  return out;
}

/** DiffView shows lines unified or side by side. */
export function DiffView({ lines, mode }: { lines: DiffLine[]; mode: 'unified' | 'split' }) {
  const rows = numbered(lines);
  if (mode === 'unified') {
    return (
      <div style={{ overflowX: 'auto', border: '1px solid #f0f0f0', borderRadius: 6 }}>
        <table style={{ ...font, borderCollapse: 'collapse', width: '100%' }} data-testid="diff-unified">
          <tbody>
            {rows.map((r, i) => (
              <tr key={i} data-op={r.op === ' ' ? 'same' : r.op === '-' ? 'removed' : 'added'} style={{ background: bg[r.op] }}>
                <td style={numStyle}>{r.old ?? ''}</td>
                <td style={numStyle}>{r.new ?? ''}</td>
                <td style={{ ...numStyle, color: r.op === '-' ? '#cf1322' : r.op === '+' ? '#389e0d' : '#999' }}>{r.op}</td>
                <td style={textStyle}>{r.text}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    );
  }
  const side = (r: Row | undefined, which: 'old' | 'new', key: string) => [
    <td key={`${key}n`} style={{ ...numStyle, background: r && r.op !== ' ' ? bg[r.op] : undefined }}>{r?.[which] ?? ''}</td>,
    <td
      key={`${key}t`}
      data-op={r ? (r.op === ' ' ? 'same' : r.op === '-' ? 'removed' : 'added') : 'none'}
      style={{ ...textStyle, width: '50%', background: r ? bg[r.op] : '#fafafa', borderRight: which === 'old' ? '1px solid #f0f0f0' : undefined }}
    >
      {r?.text ?? ''}
    </td>,
  ];
  return (
    <div style={{ overflowX: 'auto', border: '1px solid #f0f0f0', borderRadius: 6 }}>
      <table style={{ ...font, borderCollapse: 'collapse', width: '100%', tableLayout: 'auto' }} data-testid="diff-split">
        <tbody>
          {pairs(rows).map(([l, r], i) => (
            <tr key={i}>
              {side(l, 'old', 'l')}
              {side(r, 'new', 'r')}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
