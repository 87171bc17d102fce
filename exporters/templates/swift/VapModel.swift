// {{MODEL_NAME}} ({{TASK_TYPE}}) on iOS / macOS with ONNX Runtime's Objective-C API
// (CocoaPods `onnxruntime-objc`, or Swift Package `onnxruntime-swift-package-manager`).
//
// Add {{MODEL_FILE}} and labels.txt to the app bundle. Preprocessing must match training
// (metadata.json "preprocessing"): resize to {{WIDTH}}x{{HEIGHT}} ({{RESIZE_METHOD}}), RGB,
// then {{NORMALIZATION}}. For Core ML, convert the exported model with coremltools
// on a Mac and validate it there: Core ML models only run on Apple platforms.
// Classification is decoded here; other tasks: decode as vap_runtime.py does.
import Foundation
import onnxruntime_objc

public struct VapClass {
    public let classId: Int
    public let className: String
    public let confidence: Float
}

public final class VapModel {
    static let height = {{HEIGHT}}
    static let width = {{WIDTH}}
    static let embedded = {{EMBEDDED_SWIFT}}  // graph takes uint8 NHWC and normalizes itself
    static let softmax = {{SOFTMAX_SWIFT}}  // outputs are logits (else probabilities)
    static let mean: [Float] = [{{MEAN}}]
    static let std: [Float] = [{{STD}}]
    static let scale: Float = {{SCALE}}

    private let env: ORTEnv
    private let session: ORTSession
    private let labels: [String]

    public init(modelPath: String, labelsPath: String) throws {
        env = try ORTEnv(loggingLevel: .warning)
        session = try ORTSession(env: env, modelPath: modelPath, sessionOptions: nil)
        labels = try String(contentsOfFile: labelsPath, encoding: .utf8)
            .split(separator: "\n").map(String.init)
    }

    /// `rgb`: {{WIDTH}}x{{HEIGHT}} RGB pixels, row-major, 3 bytes per pixel (already resized).
    public func predict(rgb: [UInt8], topK: Int = 5) throws -> [VapClass] {
        let h = VapModel.height, w = VapModel.width
        precondition(rgb.count == h * w * 3, "resize the image to \(w)x\(h) RGB first")
        let input: ORTValue
        if VapModel.embedded {
            let data = NSMutableData(bytes: rgb, length: rgb.count)
            input = try ORTValue(tensorData: data, elementType: .uInt8,
                                 shape: [1, NSNumber(value: h), NSNumber(value: w), 3])
        } else {
            var chw = [Float](repeating: 0, count: 3 * h * w)
            for y in 0..<h {
                for x in 0..<w {
                    for c in 0..<3 {
                        let v = Float(rgb[(y * w + x) * 3 + c]) * VapModel.scale
                        chw[(c * h + y) * w + x] = (v - VapModel.mean[c]) / VapModel.std[c]
                    }
                }
            }
            let data = NSMutableData(bytes: chw, length: chw.count * MemoryLayout<Float>.size)
            input = try ORTValue(tensorData: data, elementType: .float,
                                 shape: [1, 3, NSNumber(value: h), NSNumber(value: w)])
        }
        let outputName = try session.outputNames()[0]
        let outputs = try session.run(withInputs: ["{{INPUT_NAME}}": input],
                                      outputNames: [outputName], runOptions: nil)
        let raw = try outputs[outputName]!.tensorData() as Data
        var scores = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        if VapModel.softmax {
            let top = scores.max() ?? 0
            scores = scores.map { expf($0 - top) }
            let sum = scores.reduce(0, +)
            scores = scores.map { $0 / sum }
        }
        return scores.enumerated().sorted { $0.element > $1.element }.prefix(topK).map {
            VapClass(classId: $0.offset,
                     className: $0.offset < labels.count ? labels[$0.offset] : "?",
                     confidence: $0.element)
        }
    }
}
