// A real MCP client, the official TypeScript SDK's, for Drawbridge's tests.
// Usage: node client.mjs URL TOKEN TOOL ARGS_JSON
// Connects over Streamable HTTP with the token, lists tools, calls TOOL,
// ends the session (DELETE), calls TOOL again on a fresh transport that
// reuses the dead session id, and prints one JSON object with what it saw.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [url, token, tool, argsJSON] = process.argv.slice(2);
const requestInit = { headers: { Authorization: `Bearer ${token}` } };

const client = new Client({ name: "drawbridge-e2e", version: "1.0.0" });
const transport = new StreamableHTTPClientTransport(new URL(url), { requestInit });
await client.connect(transport);
const tools = (await client.listTools()).tools.map((t) => t.name);
const first = await client.callTool({ name: tool, arguments: JSON.parse(argsJSON) });
const sessionId = transport.sessionId;
await transport.terminateSession();
await client.close();

// OpenAI-style: a new transport with the dead session id, no initialize.
const again = new Client({ name: "drawbridge-e2e", version: "1.0.0" });
const reused = new StreamableHTTPClientTransport(new URL(url), { requestInit, sessionId });
await again.connect(reused);
const second = await again.callTool({ name: tool, arguments: JSON.parse(argsJSON) });
await again.close();

console.log(JSON.stringify({ protocol: transport.protocolVersion, sessionId, tools, first, second }));
