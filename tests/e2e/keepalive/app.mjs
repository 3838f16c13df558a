// Node handler for tests/e2e/keepalive.sh: posts a body to KA_PORT through Node's default
// agent (keep-alive since Node 19), one connection reused across invocations.
import http from "node:http";

export const handler = async (event, context) => {
  const body = "n".repeat(1234);
  const status = await new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: "127.0.0.1",
        port: Number(process.env.KA_PORT),
        method: "POST",
        path: "/node/" + context.awsRequestId,
        headers: { "Content-Length": body.length },
      },
      (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
  return { status };
};
