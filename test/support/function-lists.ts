// Typed shorthands for tests over the kind-agnostic function-list merge: each kind's field, as its provider registers it.
import { LAMBDA_FUNCTION_LIST } from "../../src/cloud/aws/aws-upstreams.js";
import { AZURE_FUNCTION_LIST } from "../../src/cloud/azure/azure-upstreams.js";
import { azureEntries as providerAzureEntries } from "../../src/cloud/azure/azure-entries.js";
import type { FunctionFilter } from "../../src/model/function-filter.js";
import { functionListPatch, mergeFunctionList, type MergeInput, type MergeResult } from "../../src/model/function-list.js";
import type { AzureAuthLevel, AzureFunctionSpec, LambdaFunctionSpec } from "../../src/model/upstream.js";

export { lambdaEntries } from "../../src/cloud/aws/lambda-entries.js";
export { LAMBDA_FUNCTION_LIST, AZURE_FUNCTION_LIST };

export const mergeLambdaFunctions = (input: MergeInput<LambdaFunctionSpec>): MergeResult<LambdaFunctionSpec> => mergeFunctionList(input, LAMBDA_FUNCTION_LIST);
export const mergeAzureFunctions = (input: MergeInput<AzureFunctionSpec>): MergeResult<AzureFunctionSpec> => mergeFunctionList(input, AZURE_FUNCTION_LIST);
export const lambdaFunctionsPatch = (result: MergeResult<LambdaFunctionSpec>, resourceVersion?: string) => functionListPatch(LAMBDA_FUNCTION_LIST, result, resourceVersion);
export const azureFunctionsPatch = (result: MergeResult<AzureFunctionSpec>, resourceVersion?: string) => functionListPatch(AZURE_FUNCTION_LIST, result, resourceVersion);

/** Azure entries from bare `{functionName, authLevel}` pairs. */
export const azureEntries = (discovered: readonly { functionName: string; authLevel: AzureAuthLevel }[], filter: FunctionFilter): AzureFunctionSpec[] =>
  providerAzureEntries(discovered.map((f) => ({ provider: "azure" as const, ...f })), filter);
