// An interactive terminal session in xterm.js over the API's WebSocket
// (GET …/deployments/{app}/terminal, TerminalMessage JSON texts). In a
// restricted session Berth owns the line discipline: the page edits the
// line locally (printable characters, backspace) and sends it whole on
// Enter, so the policy sees each complete line; a shell session sends
// keystrokes. The session is opened, recorded and ended by the server.
import '@xterm/xterm/css/xterm.css';
import { Terminal } from '@xterm/xterm';
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';

interface Message {
  type: string;
  data?: string;
  message?: string;
  reason?: string;
  command?: { allowed?: boolean; reason?: string; exitCode?: number };
}

export interface LiveTerminalProps {
  tenant: string;
  project: string;
  environment: string;
  app: string;
  pod?: string;
  mode: 'restricted' | 'shell';
  onEnded?: () => void;
}

/** LiveTerminal opens a terminal session and shows it until it ends or the component goes. */
export function LiveTerminal({ tenant, project, environment, app, pod, mode, onEnded }: LiveTerminalProps) {
  const { t } = useTranslation();
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const term = new Terminal({ convertEol: false, rows: 20, cursorBlink: true, fontFamily: 'monospace' });
    term.open(el.current);
    const path = ['tenants', tenant, 'projects', project, 'environments', environment, 'deployments', app].map(encodeURIComponent).join('/');
    const q = new URLSearchParams({ mode, ...(pod ? { pod } : {}) });
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/v1/${path}/terminal?${q}`);
    const send = (m: object) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify(m));
    const prompt = () => term.write('$ ');
    let line = '';
    ws.onmessage = (ev) => {
      const m = JSON.parse(String(ev.data)) as Message;
      switch (m.type) {
        case 'opened':
          term.write(`${m.message ?? ''}\r\n`);
          if (mode === 'restricted') prompt();
          break;
        case 'output':
          term.write(m.data ?? '');
          break;
        case 'result':
          if (m.command && !m.command.allowed && m.command.reason)
            term.write(`\x1b[31m${t(`terminal.reasons.${m.command.reason}`, { defaultValue: m.command.reason })}\x1b[0m\r\n`);
          prompt();
          break;
        case 'ended':
          term.write(`\r\n[${t('terminal.ended', { reason: m.reason ?? '' })}]\r\n`);
          onEnded?.();
          break;
      }
    };
    ws.onerror = () => term.write(`\r\n[${t('terminal.failedToOpen')}]\r\n`);
    const input = term.onData((data) => {
      if (mode === 'shell') {
        send({ type: 'input', data });
        return;
      }
      for (const ch of data) {
        if (ch === '\r') {
          term.write('\r\n');
          send({ type: 'line', line });
          line = '';
        } else if (ch === '\x7f') {
          if (line) {
            line = line.slice(0, -1);
            term.write('\b \b');
          }
        } else if (ch >= ' ') {
          line += ch;
          term.write(ch);
        }
      }
    });
    term.focus();
    return () => {
      input.dispose();
      ws.close();
      term.dispose();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [tenant, project, environment, app, pod, mode]);
  return <div ref={el} data-testid="live-terminal" style={{ background: '#000', padding: 4 }} />;
}
