// The one umbrella header for FFmpeg's C libraries, plus the few things Swift
// cannot import from them: function-like macros and macros built from them.
// Each shim is a prefixed static inline function that says why it exists.
#ifndef GALLOP_CFFMPEG_SHIM_H
#define GALLOP_CFFMPEG_SHIM_H

#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/display.h>
#include <libavutil/imgutils.h>
#include <libavutil/pixdesc.h>
#include <libavutil/opt.h>
#include <libavutil/channel_layout.h>
#include <libavutil/samplefmt.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>

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

/// AVFrame.pkt_duration became AVFrame.duration in libavutil 57.30 (FFmpeg 6.0)
/// and was removed in FFmpeg 7: the frame's duration in its stream's time base
/// (0 when unknown) under either name.
static inline int64_t gallop_frame_duration(const AVFrame *frame) {
#if LIBAVUTIL_VERSION_INT >= AV_VERSION_INT(57, 30, 100)
    return frame->duration;
#else
    return frame->pkt_duration;
#endif
}

/// The stream's display matrix (nine int32, see libavutil/display.h), or NULL.
/// FFmpeg 7 removed av_stream_get_side_data: the matrix is read from the codec
/// parameters' coded side data there, from the stream's side data before.
static inline const int32_t *gallop_stream_display_matrix(const AVStream *stream) {
#if LIBAVFORMAT_VERSION_MAJOR >= 61
    const AVPacketSideData *sd = av_packet_side_data_get(stream->codecpar->coded_side_data,
                                                         stream->codecpar->nb_coded_side_data,
                                                         AV_PKT_DATA_DISPLAYMATRIX);
    if (!sd || !sd->data || sd->size < 9 * sizeof(int32_t)) return NULL;
    return (const int32_t *)sd->data;
#else
    size_t size = 0;
    const uint8_t *data = av_stream_get_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, &size);
    if (!data || size < 9 * sizeof(int32_t)) return NULL;
    return (const int32_t *)data;
#endif
}

/// Attaches a display matrix (nine int32) to an output stream before its header
/// is written; the MOV/MP4 muxer stores it as the track matrix. Same FFmpeg 7
/// split as above (av_stream_new_side_data is gone there). Returns 0 or a
/// negative AVERROR.
static inline int gallop_stream_set_display_matrix(AVStream *stream, const int32_t *matrix) {
#if LIBAVFORMAT_VERSION_MAJOR >= 61
    AVPacketSideData *sd = av_packet_side_data_new(&stream->codecpar->coded_side_data,
                                                   &stream->codecpar->nb_coded_side_data,
                                                   AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t), 0);
    if (!sd) return AVERROR(ENOMEM);
    memcpy(sd->data, matrix, 9 * sizeof(int32_t));
#else
    uint8_t *data = av_stream_new_side_data(stream, AV_PKT_DATA_DISPLAYMATRIX, 9 * sizeof(int32_t));
    if (!data) return AVERROR(ENOMEM);
    memcpy(data, matrix, 9 * sizeof(int32_t));
#endif
    return 0;
}

/// swr_convert takes `const uint8_t **in`, and a decoded frame's `extended_data`
/// is `uint8_t **`: Swift will not pass one as the other without a cast through
/// raw pointers at every call. This converts all of a frame's samples (one
/// pointer per plane) into `out`; returns the samples written per channel or a
/// negative AVERROR. A NULL frame drains the resampler's delay.
static inline int gallop_swr_convert_frame_data(SwrContext *s, uint8_t **out, int out_count, const AVFrame *in) {
    if (!in) return swr_convert(s, out, out_count, NULL, 0);
    return swr_convert(s, out, out_count, (const uint8_t **)in->extended_data, in->nb_samples);
}

/// The same with interleaved or planar input given by the caller (plane pointers).
static inline int gallop_swr_convert(SwrContext *s, uint8_t **out, int out_count, uint8_t *const *in, int in_count) {
    return swr_convert(s, out, out_count, (const uint8_t **)in, in_count);
}

#endif
