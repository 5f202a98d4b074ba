import { describe, expect, it } from "vitest";
import { goDecodeMap } from "../../../src/sandbox/vault/go-json.js";
import { checkJsonLimits } from "../../../src/sandbox/vault/json-limits.js";
import { logicalRequestData, rawJsonBody } from "../../../src/sandbox/vault/request-body.js";
import { VaultError } from "../../../src/sandbox/vault/route.js";

/**
 * [body, Vault's JSON limits verdict, Go's decode verdict] ("" = accepted). The expected texts are
 * not written by hand: they are what sdk v0.20.0's jsonutil.VerifyMaxDepthStreaming (the limits
 * Vault 1.21 applies) and jsonutil.DecodeJSONFromReader into a map[string]interface{} (Go's
 * encoding/json) printed for these very bodies when run.
 */
const GO_VERDICTS: Array<[string, string, string]> = [
  ["{\"a\":1}", "", ""],
  ["", "", ""],
  ["   ", "", ""],
  ["null", "", ""],
  ["{}", "", ""],
  ["[]", "", "json: cannot unmarshal array into Go value of type map[string]interface {}"],
  ["[1,2]", "", "json: cannot unmarshal array into Go value of type map[string]interface {}"],
  ["\"str\"", "", "json: cannot unmarshal string into Go value of type map[string]interface {}"],
  ["123", "", "json: cannot unmarshal number into Go value of type map[string]interface {}"],
  ["true", "", "json: cannot unmarshal bool into Go value of type map[string]interface {}"],
  ["false", "", "json: cannot unmarshal bool into Go value of type map[string]interface {}"],
  ["garbage", "", "invalid character 'g' looking for beginning of value"],
  ["not json", "", "invalid character 'o' in literal null (expecting 'u')"],
  ["tru", "", "unexpected EOF"],
  ["nul", "", "unexpected EOF"],
  ["{bad}", "invalid character 'b' looking for beginning of value", "invalid character 'b' looking for beginning of object key string"],
  ["{\"a\":", "malformed JSON, unclosed containers", "unexpected EOF"],
  ["{\"a\":1", "malformed JSON, unclosed containers", "unexpected EOF"],
  ["{\"a\":1,}", "invalid character '}' after object key-value pair", "invalid character '}' looking for beginning of object key string"],
  ["[1,]", "invalid character ']' after array element", "invalid character ']' looking for beginning of value"],
  ["{\"a\"}", "invalid character '}' after object key", "invalid character '}' after object key"],
  ["{\"a\":}", "invalid character '}' after object key", "invalid character '}' looking for beginning of value"],
  ["{\"a\" 1}", "", "invalid character '1' after object key"],
  ["{\"a\":1 \"b\":2}", "", "invalid character '\"' after object key:value pair"],
  ["{\"a\":tru}", "", "invalid character '}' in literal true (expecting 'e')"],
  ["{\"a\":truex}", "", "invalid character 'x' after object key:value pair"],
  ["{\"a\":1} x", "invalid character 'x' after top-level value", ""],
  ["{\"a\":1}{\"b\":2}", "invalid character '{' after top-level value", ""],
  ["{\"a\":1}}", "invalid character '}' after top-level value", ""],
  ["]", "", "invalid character ']' looking for beginning of value"],
  ["}", "", "invalid character '}' looking for beginning of value"],
  ["[}", "malformed JSON: mismatched closing delimiter '}'", "invalid character '}' looking for beginning of value"],
  ["{]", "malformed JSON: mismatched closing delimiter ']'", "invalid character ']' looking for beginning of object key string"],
  ["{\"a\":[1,2}", "malformed JSON: mismatched closing delimiter '}'", "invalid character '}' after array element"],
  ["{\"a\":\"b", "malformed JSON, unclosed string", "unexpected EOF"],
  ["{\"a\":\"\\q\"}", "invalid character 'q' in string escape code", "invalid character 'q' in string escape code"],
  ["{\"a\":\"\\u12G4\"}", "invalid character 'G' in string escape code", "invalid character 'G' in \\u hexadecimal character escape"],
  ["{\"a\":\"\\ud800\"}", "malformed JSON, unterminated surrogate pair in string", ""],
  ["{\"a\":\"\\ud800x\"}", "", ""],
  ["{\"a\":01}", "invalid character '1' after top-level value", "invalid character '1' after object key:value pair"],
  ["{\"a\":-}", "malformed JSON, invalid number syntax for '-'", "invalid character '}' in numeric literal"],
  ["{\"a\":1.}", "", "invalid character '}' after decimal point in numeric literal"],
  ["{\"a\":.5}", "invalid character '.' looking for beginning of value", "invalid character '.' looking for beginning of value"],
  ["{\"a\":1e}", "malformed JSON, invalid number syntax for '1e'", "invalid character '}' in exponent of numeric literal"],
  ["{\"a\":+1}", "invalid character '+' looking for beginning of value", "invalid character '+' looking for beginning of value"],
  ["{\"a\":1e400}", "malformed JSON, invalid number syntax for '1e400'", ""],
  ["{\"a\":--1}", "malformed JSON, invalid number syntax for '--1'", "invalid character '-' in numeric literal"],
  ["{\"a\":1.2.3}", "malformed JSON, invalid number syntax for '1.2.3'", "invalid character '.' after object key:value pair"],
  ["{\"a\":-01}", "", "invalid character '1' after object key:value pair"],
  ["{\"a\":\"x\ny\"}", "", "invalid character '\\n' in string literal"],
  ["{\"a\":\"x\ty\"}", "", "invalid character '\\t' in string literal"],
  ["{\"a\":1,\"a\":2}", "duplicate key 'a' in object", ""],
  ["{\"a\":{\"b\":1,\"b\":2}}", "duplicate key 'b' in object", ""],
  ["\ufeff{\"a\":1}", "", "invalid character '\u00ef' looking for beginning of value"],
  ["\ufeffgarbage", "", "invalid character '\u00ef' looking for beginning of value"],
  ["{\"a\":nul}", "", "invalid character '}' in literal null (expecting 'l')"],
  ["{\"a\":fals}", "", "invalid character '}' in literal false (expecting 'e')"],
  ["{\"a\":[tru]}", "", "invalid character ']' in literal true (expecting 'e')"],
  ["{\"a\":1,,\"b\":2}", "", "invalid character ',' looking for beginning of object key string"],
  ["{,}", "invalid character '}' after object key-value pair", "invalid character ',' looking for beginning of object key string"],
  ["[,1]", "", "invalid character ',' looking for beginning of value"],
  ["{:1}", "", "invalid character ':' looking for beginning of object key string"],
  ["{\"a\"::1}", "", "invalid character ':' looking for beginning of value"],
  ["{\"a\":1:2}", "", "invalid character ':' after object key:value pair"],
  ["[1:2]", "", "invalid character ':' after array element"],
  ["{\"a\":[1 2]}", "", "invalid character '2' after array element"],
  ["{1:2}", "", "invalid character '1' looking for beginning of object key string"],
  ["{\"a\":1}   ", "", ""],
  ["  {\"a\":1}", "", ""],
  ["x{", "", "invalid character 'x' looking for beginning of value"],
  ["{'a':1}", "invalid character ''' looking for beginning of value", "invalid character '\\'' looking for beginning of object key string"],
  ["{\"a\":\u0001}", "invalid character '\u0001' looking for beginning of value", "invalid character '\\x01' looking for beginning of value"],
  ["{\"a\":\"\u0001\"}", "", "invalid character '\\x01' in string literal"],
  ["{\"data\":{\"k\":\"v\"},\"options\":{\"cas\":0}}", "", ""],
  ["[[[[]]]]", "", "json: cannot unmarshal array into Go value of type map[string]interface {}"],
  ["{\"a\":\u00e9}", "invalid character '\u00c3' looking for beginning of value", "invalid character '\u00c3' looking for beginning of value"],
  ["\"abc\"x", "", "json: cannot unmarshal string into Go value of type map[string]interface {}"],
  ["123x", "", "json: cannot unmarshal number into Go value of type map[string]interface {}"],
  ["truex", "", "json: cannot unmarshal bool into Go value of type map[string]interface {}"],
  ["-", "", "unexpected EOF"],
  ["-x", "", "invalid character 'x' in numeric literal"],
  ["0x1", "", "json: cannot unmarshal number into Go value of type map[string]interface {}"],
  ["1.5e+3", "", "json: cannot unmarshal number into Go value of type map[string]interface {}"],
  ["{\"a\":1e+}", "malformed JSON, invalid number syntax for '1e+'", "invalid character '}' in exponent of numeric literal"],
  ["{\"a\":\"\\u00e9\"}", "", ""],
  ["{ \"a\" : 1 , \"b\" : [ true , false , null ] }", "", ""],
  ["{\"a\":[1,2,]}", "invalid character ']' after array element", "invalid character ']' looking for beginning of value"],
  ["{\"a\":-0}", "", ""],
  ["{\"a\":0.0e0}", "", ""],
  ["{\"a\":\"xxxxxxxxxx\"}", "", ""],
  ["{\"a\":truefalse}", "", "invalid character 'f' after object key:value pair"],
  ["{\"a\":\"b\"c}", "invalid character 'c' looking for beginning of value", "invalid character 'c' after object key:value pair"],
  ["{\"a\":tx}", "", "invalid character 'x' in literal true (expecting 'r')"],
  ["n", "", "unexpected EOF"],
  ["f", "", "unexpected EOF"],
  ["t", "", "unexpected EOF"],
  ["{\"a\":1}\n", "", ""],
  ["\t\n", "", ""],
  ["{\"a\":[]]}", "malformed JSON: mismatched closing delimiter ']'", "invalid character ']' after object key:value pair"],
  ["[{}]", "", "json: cannot unmarshal array into Go value of type map[string]interface {}"],
  ["[{\"a\":1}]", "", "json: cannot unmarshal array into Go value of type map[string]interface {}"],
  ["{\"a\":{}}", "", ""],
  ["{\"k\":\"v\" }", "", ""],
  ["nulll", "", ""],
  ["{\"a\":1}garbage", "invalid character 'g' after top-level value", ""],
];

function decodeVerdict(body: string): string {
  const raw = Buffer.from(body, "utf8");
  if (raw.toString("latin1").trim() === "") return "";
  const decoded = goDecodeMap(raw);
  return decoded.ok ? "" : decoded.message;
}

describe("Vault's JSON limits check and Go's decoder, as the emulator reproduces them", () => {
  it.each(GO_VERDICTS)("body %j: limits %j, decode %j", (body, limits, decode) => {
    expect(checkJsonLimits(Buffer.from(body, "utf8")) ?? "").toBe(limits);
    expect(decodeVerdict(body)).toBe(decode);
  });

  it("enforces the nesting depth of 300 and nothing below it", () => {
    expect(checkJsonLimits(Buffer.from(`${"[".repeat(300)}${"]".repeat(300)}`))).toBeUndefined();
    expect(checkJsonLimits(Buffer.from(`${"[".repeat(301)}${"]".repeat(301)}`))).toBe("JSON input exceeds allowed nesting depth");
  });

  it("enforces the string, entry and element limits", () => {
    expect(checkJsonLimits(Buffer.from(`{"a":"${"x".repeat(1024 * 1024 + 1)}"}`))).toBe("JSON string value exceeds allowed length");
    const entries = Array.from({ length: 10001 }, (_, i) => `"k${i}":1`).join(",");
    expect(checkJsonLimits(Buffer.from(`{${entries}}`))).toBe("JSON object exceeds allowed entry count");
    expect(checkJsonLimits(Buffer.from(`[${Array.from({ length: 10001 }, () => "1").join(",")}]`))).toBe("JSON array exceeds allowed element count");
  });
});

describe("logicalRequestData", () => {
  const refusal = (fn: () => unknown): { status: number; errors: string[] } => {
    try {
      fn();
    } catch (err) {
      if (err instanceof VaultError) return { status: err.status, errors: err.errors };
      throw err;
    }
    throw new Error("expected a VaultError");
  };

  it("decodes POST and PUT bodies as JSON, prefixing Go's words as buildLogicalRequestNoAuth does", () => {
    expect(logicalRequestData("POST", "application/json", Buffer.from('{"a":1}'))).toEqual({ a: 1 });
    expect(logicalRequestData("PUT", undefined, Buffer.from(""))).toEqual({});
    expect(logicalRequestData("PUT", undefined, Buffer.from("null"))).toEqual({});
    expect(refusal(() => logicalRequestData("POST", "application/json", Buffer.from("not json")))).toEqual({
      status: 400,
      errors: ["error parsing JSON: failed to parse JSON input: invalid character 'o' in literal null (expecting 'u')"],
    });
    expect(refusal(() => logicalRequestData("PUT", undefined, Buffer.from("[1]")))).toEqual({
      status: 400,
      errors: ["error parsing JSON: failed to parse JSON input: json: cannot unmarshal array into Go value of type map[string]interface {}"],
    });
  });

  it("reads a form body when the content type says so", () => {
    expect(logicalRequestData("POST", "application/x-www-form-urlencoded", Buffer.from("a=1&b=x&b=y"))).toEqual({ a: "1", b: ["x", "y"] });
    expect(logicalRequestData("POST", "application/x-www-form-urlencoded", Buffer.from('{"a":1}'))).toEqual({ a: 1 });
  });

  it("ignores the body of reads and deletes", () => {
    expect(logicalRequestData("GET", undefined, Buffer.from("not json"))).toEqual({});
    expect(logicalRequestData("DELETE", undefined, Buffer.from("not json"))).toEqual({});
  });

  it("wants a merge-patch content type for PATCH and answers its decoding errors without detail", () => {
    expect(refusal(() => logicalRequestData("PATCH", undefined, Buffer.from("{}")))).toEqual({ status: 400, errors: ["mime: no media type"] });
    expect(refusal(() => logicalRequestData("PATCH", "application/json; charset=utf-8", Buffer.from("{}")))).toEqual({
      status: 415,
      errors: ["PATCH requires Content-Type of application/merge-patch+json, provided application/json"],
    });
    expect(refusal(() => logicalRequestData("PATCH", "application/merge-patch+json", Buffer.from("[1]")))).toEqual({ status: 400, errors: ["error parsing JSON"] });
    expect(logicalRequestData("PATCH", "application/merge-patch+json", Buffer.from('{"data":{"a":null}}'))).toEqual({ data: { a: null } });
  });

  it("names the handler's Go type in the raw handlers' type errors", () => {
    expect(refusal(() => rawJsonBody(Buffer.from("[1]"), "http.UnsealRequest"))).toEqual({
      status: 400,
      errors: ["failed to parse JSON input: json: cannot unmarshal array into Go value of type http.UnsealRequest"],
    });
  });
});
