/* A one-off check, not part of the build: decodes two images with
 * libjpeg-turbo or libpng (Debian libjpeg62-turbo-dev, libpng-dev) and says
 * whether their pixels are equal. Any libjpeg warning (corrupt data) fails.
 *   cc decode_compare.c -ljpeg -lpng -o decode_compare
 *   ./decode_compare ../meta.jpg ../base.jpg   # base.jpg == StripMetadata(meta.jpg)
 */
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

struct Image {
  unsigned w, h, channels;
  unsigned char* pixels;
};

struct JpegError {
  struct jpeg_error_mgr mgr;
  jmp_buf jump;
};

static void JpegFail(j_common_ptr c) {
  (*c->err->output_message)(c);
  longjmp(((struct JpegError*)c->err)->jump, 1);
}

static void JpegWarn(j_common_ptr c, int level) {
  if (level < 0) JpegFail(c); /* corrupt-data warnings count as failures */
}

static int DecodeJpeg(const char* path, struct Image* img) {
  FILE* f = fopen(path, "rb");
  if (!f) return 0;
  struct jpeg_decompress_struct c;
  struct JpegError err;
  c.err = jpeg_std_error(&err.mgr);
  err.mgr.error_exit = JpegFail;
  err.mgr.emit_message = JpegWarn;
  if (setjmp(err.jump)) {
    fclose(f);
    return 0;
  }
  jpeg_create_decompress(&c);
  jpeg_stdio_src(&c, f);
  jpeg_read_header(&c, TRUE);
  jpeg_start_decompress(&c);
  img->w = c.output_width, img->h = c.output_height;
  img->channels = c.output_components;
  img->pixels = malloc((size_t)img->w * img->h * img->channels);
  while (c.output_scanline < c.output_height) {
    JSAMPROW row = img->pixels + (size_t)c.output_scanline * img->w * img->channels;
    jpeg_read_scanlines(&c, &row, 1);
  }
  jpeg_finish_decompress(&c);
  jpeg_destroy_decompress(&c);
  fclose(f);
  return 1;
}

static int DecodePng(const char* path, struct Image* img) {
  png_image p;
  memset(&p, 0, sizeof p);
  p.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_file(&p, path)) return 0;
  p.format = PNG_FORMAT_RGBA;
  img->w = p.width, img->h = p.height, img->channels = 4;
  img->pixels = malloc(PNG_IMAGE_SIZE(p));
  if (!png_image_finish_read(&p, NULL, img->pixels, 0, NULL)) {
    fprintf(stderr, "%s: %s\n", path, p.message);
    return 0;
  }
  return 1;
}

static int Decode(const char* path, struct Image* img) {
  size_t n = strlen(path);
  return n > 4 && strcmp(path + n - 4, ".png") == 0 ? DecodePng(path, img)
                                                     : DecodeJpeg(path, img);
}

int main(int argc, char** argv) {
  struct Image a, b;
  if (argc != 3 || !Decode(argv[1], &a) || !Decode(argv[2], &b)) {
    fprintf(stderr, "cannot decode\n");
    return 2;
  }
  int same = a.w == b.w && a.h == b.h && a.channels == b.channels &&
             memcmp(a.pixels, b.pixels, (size_t)a.w * a.h * a.channels) == 0;
  printf("%s vs %s: %ux%ux%u, pixels %s\n", argv[1], argv[2], a.w, a.h,
         a.channels, same ? "equal" : "DIFFER");
  return same ? 0 : 1;
}
