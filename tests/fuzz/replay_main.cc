// Runs api_fuzzer.cc's target once on every file of the directories or files
// given, the way libFuzzer runs a corpus, for builds without libFuzzer.
// A failing input aborts in the target; an input that is not a request (after
// a change of the proto, say) fails the run, as it would test nothing.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerInitialize(int* argc, char*** argv);
extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

int main(int argc, char** argv) {
  std::vector<std::filesystem::path> files;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path path(argv[i]);
    if (std::filesystem::is_directory(path)) {
      for (const auto& entry : std::filesystem::directory_iterator(path)) {
        if (entry.is_regular_file()) {
          files.push_back(entry.path());
        }
      }
    } else {
      files.push_back(path);
    }
  }
  if (files.empty()) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR_OR_FILE...\n", argv[0]);
    return 2;
  }
  std::sort(files.begin(), files.end());
  LLVMFuzzerInitialize(&argc, &argv);
  int refused = 0;
  for (const std::filesystem::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::string input((std::istreambuf_iterator<char>(in)),
                            std::istreambuf_iterator<char>());
    if (LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                               input.size()) != 0) {
      std::fprintf(stderr, "not a request: %s\n", file.c_str());
      ++refused;
    }
  }
  std::printf("replayed %zu inputs, %d not requests\n", files.size(), refused);
  return refused == 0 ? 0 : 1;
}
