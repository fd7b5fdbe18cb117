// The one umbrella header for FFmpeg's C libraries, plus the few things Swift
// cannot import from them: function-like macros and macros built from them.
// Each shim is a prefixed static inline function that says why it exists.
#ifndef GALLOP_CFFMPEG_SHIM_H
#define GALLOP_CFFMPEG_SHIM_H

#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libavutil/opt.h>
#include <libswscale/swscale.h>

/// AVERROR(EAGAIN) is a function-like macro: Swift cannot import it.
static inline int gallop_averror_eagain(void) { return AVERROR(EAGAIN); }

/// AVERROR_EOF is built with FFERRTAG, a function-like macro.
static inline int gallop_averror_eof(void) { return AVERROR_EOF; }

/// AV_NOPTS_VALUE is a cast expression Swift does not import.
static inline int64_t gallop_nopts_value(void) { return AV_NOPTS_VALUE; }

/// av_err2str is a macro over a compound literal; this fills a caller buffer.
static inline const char *gallop_error_string(int errnum, char *buffer, size_t size) {
    av_strerror(errnum, buffer, size);
    return buffer;
}

/// AV_TIME_BASE_Q is a compound literal.
static inline AVRational gallop_time_base_q(void) { return (AVRational){1, AV_TIME_BASE}; }

#endif
