/* The hello example, built in this tree for test_abi, test_sdk and exports.sh. */
#include "../../sdk/examples/hello/hello.c"
