// An uninstrumented RAG-like app for the agent tests: POST /ask embeds the question, searches the
// vector DB and streams a chat completion, with plain fetch and NO traceparent anywhere, so only
// the agent can tie the outbound calls to the inbound request.
//   node --import tsx test/helpers/plain_rag_app.ts LLM_URL VECTORDB_URL COLLECTION
// Prints `listening on URL` when ready.
import { createServer } from 'node:http';

const [llm, vdb, collection] = process.argv.slice(2) as [string, string, string];

async function ask(question: string): Promise<{ chunks: number; hits: number }> {
  const emb = await fetch(`${llm}/v1/embeddings`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer sk-sim' }, body: JSON.stringify({ model: 'text-embedding-3-small', input: question }) });
  const vector = ((await emb.json()) as { data: Array<{ embedding: number[] }> }).data[0]!.embedding;
  const q = await fetch(`${vdb}/collections/${collection}/points/query`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ query: vector, limit: 3, with_payload: true }) });
  const hits = (((await q.json()) as { result?: { points?: unknown[] } }).result?.points ?? []).length;
  const chat = await fetch(`${llm}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer sk-sim' },
    body: JSON.stringify({ model: 'gpt-4o-mini', stream: true, max_tokens: 24, stream_options: { include_usage: true }, messages: [{ role: 'user', content: question }] }),
  });
  let chunks = 0;
  for await (const _ of chat.body!) chunks++;
  return { chunks, hits };
}

const server = createServer((req, res) => {
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    if (req.method !== 'POST' || (req.url !== '/ask' && req.url !== '/ask-concurrent')) {
      res.writeHead(404).end();
      return;
    }
    ask(String((JSON.parse(body || '{}') as { question?: string }).question ?? 'hi')).then(
      (r) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(r)),
      (err: unknown) => res.writeHead(502, { 'content-type': 'application/json' }).end(JSON.stringify({ error: String(err) })),
    );
  });
});
server.listen(0, '127.0.0.1', () => {
  const a = server.address() as { port: number };
  console.log(`listening on http://127.0.0.1:${a.port}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
