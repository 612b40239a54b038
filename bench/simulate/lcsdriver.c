// lcsdriver replays a CSV trace (time,url,bytes with a header row) through
// libCacheSim's LRU at one cache size and prints the exact request and
// miss counts and the time the replay took, for bench/simulate/run.sh.
// It is built against libCacheSim on the machine that runs the bench;
// libCacheSim itself is never committed.
//
//   lcsdriver TRACE.csv CACHE_BYTES
//   prints: requests=N misses=M seconds=S
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "libCacheSim.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: lcsdriver TRACE.csv CACHE_BYTES\n");
    return 2;
  }
  reader_init_param_t params = default_reader_init_params();
  params.time_field = 1;
  params.obj_id_field = 2;
  params.obj_size_field = 3;
  params.obj_id_is_num = false;
  params.has_header = true;
  params.has_header_set = true;
  params.delimiter = ',';

  double start = now();
  reader_t *reader = open_trace(argv[1], CSV_TRACE, &params);
  common_cache_params_t cc = default_common_cache_params();
  cc.cache_size = strtoll(argv[2], NULL, 10);
  cc.hashpower = 24;
  cc.consider_obj_metadata = false;
  cache_t *lru = LRU_init(cc, NULL);

  request_t *req = new_request();
  long long n = 0, misses = 0;
  while (read_one_req(reader, req) == 0) {
    n++;
    if (!lru->get(lru, req)) misses++;
  }
  double took = now() - start;
  printf("requests=%lld misses=%lld seconds=%.3f\n", n, misses, took);
  free_request(req);
  lru->cache_free(lru);
  close_reader(reader);
  return 0;
}
