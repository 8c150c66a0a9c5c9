/**
 * A Chrome DevTools Protocol session with a workerd isolate, for the memory probes: full GCs and
 * heap usage. workerd serves inspector commands that need the isolate (a GC) only when it next
 * takes the isolate's lock, so while one is pending a trivial request (`poke`, any URL of the
 * worker; a 404 will do) is sent every 200 ms.
 */
export interface InspectorSession {
  call(method: string, params?: Record<string, unknown>): Promise<unknown>;
  /** Two full collections (the second catches what the first's finalizers freed). */
  collectGarbage(): Promise<void>;
  /** Bytes of JavaScript heap in use (after collectGarbage: the live heap). */
  heapUsed(): Promise<number>;
  close(): void;
}

export async function openInspector(
  inspectorUrl: string | URL,
  poke: string,
): Promise<InspectorSession> {
  const list = (await (await fetch(new URL("/json/list", inspectorUrl))).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  const target = list[0];
  if (!target) {
    throw new Error("the inspector lists no worker");
  }
  // Wrangler's inspector proxy only accepts local origins (DNS-rebinding protection).
  const ws = new WebSocket(target.webSocketDebuggerUrl, {
    headers: { Origin: "http://localhost" },
  } as never);
  await new Promise((open, fail) => {
    ws.addEventListener("open", open);
    ws.addEventListener("error", fail);
  });
  let id = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(String(e.data)) as { id?: number; result?: unknown };
    if (m.id !== undefined) {
      waiting.get(m.id)?.(m.result);
      waiting.delete(m.id);
    }
  });
  const call = async (method: string, params: Record<string, unknown> = {}) => {
    const answer = new Promise<unknown>((resolve) => {
      waiting.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
    const timer = setInterval(() => void fetch(poke).then((r) => r.arrayBuffer()), 200);
    try {
      return await answer;
    } finally {
      clearInterval(timer);
    }
  };
  await call("HeapProfiler.enable");
  return {
    call,
    async collectGarbage() {
      await call("HeapProfiler.collectGarbage");
      await call("HeapProfiler.collectGarbage");
    },
    async heapUsed() {
      return ((await call("Runtime.getHeapUsage")) as { usedSize: number }).usedSize;
    },
    close: () => ws.close(),
  };
}
