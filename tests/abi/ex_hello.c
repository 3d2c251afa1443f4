/* The hello example, built in this tree for test_abi, test_sdk and exports.sh. */
#include "hello.c" /* sdk/examples/hello, on the include path */
