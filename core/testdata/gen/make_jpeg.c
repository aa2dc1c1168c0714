/* Writes the metadata-free base JPEGs of core/testdata with libjpeg-turbo
 * (Debian libjpeg62-turbo-dev):
 *   cc make_jpeg.c -ljpeg -o make_jpeg && ./make_jpeg ..
 * base.jpg: 32x32 baseline, restart interval 1 MCU row (RST0 between the two rows).
 * progressive.jpg: 32x32 progressive (several scans). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

static void Write(const char* path, int progressive) {
  enum { kW = 32, kH = 32 };
  unsigned char pixels[kH][kW * 3];
  for (int y = 0; y < kH; ++y) {
    for (int x = 0; x < kW; ++x) {
      pixels[y][3 * x + 0] = (unsigned char)(x * 8);
      pixels[y][3 * x + 1] = (unsigned char)(y * 8);
      pixels[y][3 * x + 2] = (unsigned char)((x ^ y) * 8);
    }
  }
  FILE* f = fopen(path, "wb");
  if (!f) abort();
  struct jpeg_compress_struct c;
  struct jpeg_error_mgr err;
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  jpeg_stdio_dest(&c, f);
  c.image_width = kW;
  c.image_height = kH;
  c.input_components = 3;
  c.in_color_space = JCS_RGB;
  jpeg_set_defaults(&c);
  jpeg_set_quality(&c, 90, TRUE);
  if (progressive) {
    jpeg_simple_progression(&c);
  } else {
    c.restart_in_rows = 1;
  }
  jpeg_start_compress(&c, TRUE);
  while (c.next_scanline < c.image_height) {
    JSAMPROW row = pixels[c.next_scanline];
    jpeg_write_scanlines(&c, &row, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  fclose(f);
}

int main(int argc, char** argv) {
  const char* dir = argc > 1 ? argv[1] : ".";
  char path[4096];
  snprintf(path, sizeof path, "%s/base.jpg", dir);
  Write(path, 0);
  snprintf(path, sizeof path, "%s/progressive.jpg", dir);
  Write(path, 1);
  return 0;
}
