/* The jsonl example, built in this tree for test_abi, test_sdk, jsonl.sh and exports.sh. */
#include "jsonl.c" /* sdk/examples/jsonl, on the include path */
