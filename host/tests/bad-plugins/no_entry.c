/* Test library: a valid shared library that exports no hxrt entry point. */
int hxrt_something_else(void);
int hxrt_something_else(void) { return 42; }
