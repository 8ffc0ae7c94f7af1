// A recorded terminal session played back with asciinema-player. The
// recording (asciicast v2) is fetched through the API, which checks it
// against the SHA-256 recorded when the session ended, and handed to the
// player as data. The player's terminal emulator is WebAssembly: the
// console's Content-Security-Policy allows 'wasm-unsafe-eval' for it.
import 'asciinema-player/dist/bundle/asciinema-player.css';
import { create } from 'asciinema-player';
import { useEffect, useRef } from 'react';

/** Replay plays the asciicast v2 text cast. */
export function Replay({ cast }: { cast: string }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!el.current) return;
    const player = create({ data: cast }, el.current, { autoPlay: true, idleTimeLimit: 1, fit: 'width', controls: true });
    return () => player.dispose();
  }, [cast]);
  return <div ref={el} data-testid="replay-player" />;
}
