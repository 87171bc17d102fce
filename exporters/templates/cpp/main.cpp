// {{MODEL_NAME}} ({{TASK_TYPE}}) with the ONNX Runtime C++ API.
//
// Build: see CMakeLists.txt (needs the ONNX Runtime C/C++ package and OpenCV for image I/O).
// Run:   ./vap_predict {{MODEL_FILE}} image.jpg
//
// Preprocessing must match training exactly (metadata.json "preprocessing"): resize to
// {{WIDTH}}x{{HEIGHT}} ({{RESIZE_METHOD}}), RGB, then {{NORMALIZATION}}.
// Classification is decoded here; for detection/segmentation/pose the raw outputs are
// printed: decode them as vap_runtime.py does (metadata.json "postprocessing").
#include <onnxruntime_cxx_api.h>
#include <opencv2/opencv.hpp>

#include <algorithm>
#include <array>
#include <cmath>
#include <fstream>
#include <iostream>
#include <numeric>
#include <string>
#include <vector>

static const int kHeight = {{HEIGHT}};
static const int kWidth = {{WIDTH}};
static const bool kEmbedded = {{EMBEDDED_CPP}};  // graph takes uint8 NHWC and normalizes itself
static const bool kSoftmax = {{SOFTMAX_CPP}};    // outputs are logits (else probabilities)
static const std::array<float, 3> kMean = {{{MEAN}}};
static const std::array<float, 3> kStd = {{{STD}}};
static const float kScale = {{SCALE}}f;

static std::vector<std::string> ReadLabels(const std::string& path) {
  std::vector<std::string> labels;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) labels.push_back(line);
  return labels;
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: " << argv[0] << " MODEL.onnx IMAGE" << std::endl;
    return 2;
  }
  Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "vap");
  Ort::SessionOptions options;
  Ort::Session session(env, argv[1], options);
  Ort::AllocatorWithDefaultOptions allocator;
  auto input_name = session.GetInputNameAllocated(0, allocator);
  std::vector<Ort::AllocatedStringPtr> output_names_owned;
  std::vector<const char*> output_names;
  for (size_t i = 0; i < session.GetOutputCount(); ++i) {
    output_names_owned.push_back(session.GetOutputNameAllocated(i, allocator));
    output_names.push_back(output_names_owned.back().get());
  }

  cv::Mat bgr = cv::imread(argv[2], cv::IMREAD_COLOR);
  if (bgr.empty()) {
    std::cerr << "cannot read " << argv[2] << std::endl;
    return 1;
  }
  cv::Mat rgb, resized;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  cv::resize(rgb, resized, cv::Size(kWidth, kHeight), 0, 0, cv::INTER_LINEAR);

  auto memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  std::vector<uint8_t> pixels;
  std::vector<float> tensor;
  Ort::Value input{nullptr};
  if (kEmbedded) {
    std::array<int64_t, 4> shape{1, kHeight, kWidth, 3};
    pixels.assign(resized.data, resized.data + resized.total() * 3);
    input = Ort::Value::CreateTensor<uint8_t>(memory, pixels.data(), pixels.size(),
                                              shape.data(), shape.size());
  } else {
    std::array<int64_t, 4> shape{1, 3, kHeight, kWidth};
    tensor.resize(3 * kHeight * kWidth);
    for (int y = 0; y < kHeight; ++y)
      for (int x = 0; x < kWidth; ++x)
        for (int c = 0; c < 3; ++c) {
          float v = resized.at<cv::Vec3b>(y, x)[c] * kScale;
          tensor[(c * kHeight + y) * kWidth + x] = (v - kMean[c]) / kStd[c];
        }
    input = Ort::Value::CreateTensor<float>(memory, tensor.data(), tensor.size(),
                                            shape.data(), shape.size());
  }
  const char* input_names[] = {input_name.get()};
  auto outputs = session.Run(Ort::RunOptions{nullptr}, input_names, &input, 1,
                             output_names.data(), output_names.size());

  auto info = outputs[0].GetTensorTypeAndShapeInfo();
  const float* out = outputs[0].GetTensorData<float>();
  size_t n = info.GetElementCount();
  if (std::string("{{TASK_TYPE}}") != "image_classification") {
    std::cout << "output 0 has " << n << " values; decode as metadata.json says" << std::endl;
    return 0;
  }
  std::vector<float> probs(out, out + n);
  if (kSoftmax) {
    float top = *std::max_element(probs.begin(), probs.end());
    float sum = 0;
    for (auto& p : probs) sum += (p = std::exp(p - top));
    for (auto& p : probs) p /= sum;
  }
  auto labels = ReadLabels("labels.txt");
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return probs[a] > probs[b]; });
  for (size_t k = 0; k < std::min<size_t>(5, n); ++k) {
    size_t i = order[k];
    std::cout << i << " " << (i < labels.size() ? labels[i] : "?") << " " << probs[i] << std::endl;
  }
  return 0;
}
