// A Node.js Lambda handler run by AWS's own runtime interface client (aws-lambda-ric from
// npm). Like the other samples it reads a file from the task root, calls an upstream HTTP
// service (SAMPLE_UPSTREAM_URL) and runs one child process, then answers with a summary of
// the event (API Gateway proxy, S3 put or SQS batch). {"fail": "message"} throws.
import { readFile } from "node:fs/promises";
import { execFileSync } from "node:child_process";
import http from "node:http";

function get(url) {
  return new Promise((resolve) => {
    http
      .get(url, { timeout: 5000 }, (res) => {
        let data = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (data += chunk));
        res.on("end", () => resolve(data.trim()));
      })
      .on("error", (err) => resolve(err.message));
  });
}

export const handler = async (event) => {
  if (typeof event.fail === "string") {
    const err = new Error(event.fail);
    err.name = "SampleError";
    throw err;
  }
  const first = Array.isArray(event.Records) ? event.Records[0] : undefined;
  const apigw = typeof event.httpMethod === "string";
  const kind = apigw
    ? "apigw"
    : first?.eventSource === "aws:s3"
      ? "s3"
      : first?.eventSource === "aws:sqs"
        ? "sqs"
        : "other";
  const out = { runtime: "node", kind };
  try {
    const config = JSON.parse(await readFile(`${process.env.LAMBDA_TASK_ROOT}/config.json`, "utf8"));
    out.greeting = typeof config.greeting === "string" ? config.greeting : "no config";
  } catch {
    out.greeting = "no config";
  }
  const url = process.env.SAMPLE_UPSTREAM_URL;
  out.upstream = url ? await get(url) : "unset";
  out.child = execFileSync("uname", ["-s"], { encoding: "utf8" }).trim();
  if (apigw) {
    out.method = event.httpMethod;
    out.path = event.path;
  } else if (kind === "s3") {
    out.bucket = first.s3.bucket.name;
    out.key = first.s3.object.key;
  } else if (kind === "sqs") {
    out.messages = event.Records.length;
    out.ids = event.Records.map((r) => r.messageId);
  }
  if (!apigw) return out;
  return {
    statusCode: 200,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(out),
  };
};
