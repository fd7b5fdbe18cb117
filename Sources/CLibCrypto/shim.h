// OpenSSL's libcrypto (Debian's libssl-dev, found through `pkg-config libcrypto`), imported by GallopLearned
// only, for one thing: SHA-256 of the learned models' files, which enter a run's fingerprint. libcrypto's
// SHA-256 uses the CPU's SHA extensions (SHA-NI) or AVX2 where present: about 1.8 GB/s here against 265 MB/s
// for the portable Swift loop it replaced, and CLIP ViT-B/32's weights are ~350 MB, hashed at every start.
//
// The shim functions, prefixed gallop_sha256_, exist so that Swift sees one small API fixed to SHA-256:
// OpenSSL 3 deprecates SHA256_Init/Update/Final (Swift would warn at every call), and its EVP interface takes
// a digest and an engine pointer at every init; here the digest is bound once, errors come back as NULL or 0,
// and the context is opaque to Swift, which owns it through one class that frees it in deinit.
#ifndef GALLOP_CLIBCRYPTO_SHIM_H
#define GALLOP_CLIBCRYPTO_SHIM_H

#include <stddef.h>
#include <openssl/evp.h>

/// A new SHA-256 context, initialised; NULL when libcrypto cannot make one (out of memory).
static inline EVP_MD_CTX *gallop_sha256_new(void) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

/// A copy of `ctx` (the bytes hashed so far included); NULL on failure.
static inline EVP_MD_CTX *gallop_sha256_copy(const EVP_MD_CTX *ctx) {
    EVP_MD_CTX *copy = EVP_MD_CTX_new();
    if (copy && EVP_MD_CTX_copy_ex(copy, ctx) != 1) {
        EVP_MD_CTX_free(copy);
        return NULL;
    }
    return copy;
}

/// Adds `count` bytes; 1 on success.
static inline int gallop_sha256_update(EVP_MD_CTX *ctx, const void *bytes, size_t count) {
    return EVP_DigestUpdate(ctx, bytes, count);
}

/// Writes the 32-byte digest of everything added into `out` and ends the context (copy it first to go on); 1 on success.
static inline int gallop_sha256_final(EVP_MD_CTX *ctx, unsigned char *out) {
    unsigned int length = 0;
    return EVP_DigestFinal_ex(ctx, out, &length) == 1 && length == 32;
}

static inline void gallop_sha256_free(EVP_MD_CTX *ctx) { EVP_MD_CTX_free(ctx); }

#endif
