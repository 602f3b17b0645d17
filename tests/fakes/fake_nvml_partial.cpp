// A fake libnvidia-ml that exports only nvmlInit_v2, nvmlShutdown and nvmlErrorString, so that loading it
// exercises the missing-symbol path (every other entry point must come back as FUNCTION_NOT_FOUND).

extern "C" {

int nvmlInit_v2() {
    return 0;
}

int nvmlShutdown() {
    return 0;
}

const char* nvmlErrorString(int status) {
    return status == 0 ? "Success" : "Fake Partial Error";
}

}  // extern "C"
