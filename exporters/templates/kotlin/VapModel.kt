// {{MODEL_NAME}} ({{TASK_TYPE}}) on Android with ONNX Runtime
// (Gradle: implementation("com.microsoft.onnxruntime:onnxruntime-android:<version>")).
//
// Put {{MODEL_FILE}} and labels.txt in src/main/assets. Preprocessing must match training
// (metadata.json "preprocessing"): resize to {{WIDTH}}x{{HEIGHT}} ({{RESIZE_METHOD}}), RGB,
// then {{NORMALIZATION}}.
// Classification is decoded here; other tasks: decode as vap_runtime.py does.
package ai.vap.sample

import ai.onnxruntime.OnnxTensor
import ai.onnxruntime.OrtEnvironment
import ai.onnxruntime.OrtSession
import android.content.Context
import android.graphics.Bitmap
import java.nio.ByteBuffer
import java.nio.FloatBuffer
import kotlin.math.exp

data class VapClass(val classId: Int, val className: String, val confidence: Float)

class VapModel(context: Context) : AutoCloseable {
    companion object {
        const val HEIGHT = {{HEIGHT}}
        const val WIDTH = {{WIDTH}}
        const val EMBEDDED = {{EMBEDDED_KOTLIN}} // graph takes uint8 NHWC and normalizes itself
        const val SOFTMAX = {{SOFTMAX_KOTLIN}} // outputs are logits (else probabilities)
        val MEAN = floatArrayOf({{MEAN_KOTLIN}})
        val STD = floatArrayOf({{STD_KOTLIN}})
        const val SCALE = {{SCALE}}f
    }

    private val env = OrtEnvironment.getEnvironment()
    private val session: OrtSession =
        env.createSession(context.assets.open("{{MODEL_FILE}}").readBytes())
    private val labels = context.assets.open("labels.txt").bufferedReader().readLines()

    fun predict(bitmap: Bitmap, topK: Int = 5): List<VapClass> {
        val image = Bitmap.createScaledBitmap(bitmap, WIDTH, HEIGHT, true)
        val pixels = IntArray(WIDTH * HEIGHT)
        image.getPixels(pixels, 0, WIDTH, 0, 0, WIDTH, HEIGHT)
        val input = if (EMBEDDED) {
            val bytes = ByteBuffer.allocateDirect(WIDTH * HEIGHT * 3)
            for (p in pixels) {
                bytes.put((p shr 16 and 0xFF).toByte())
                bytes.put((p shr 8 and 0xFF).toByte())
                bytes.put((p and 0xFF).toByte())
            }
            bytes.rewind()
            OnnxTensor.createTensor(env, bytes, longArrayOf(1, HEIGHT.toLong(), WIDTH.toLong(), 3),
                ai.onnxruntime.OnnxJavaType.UINT8)
        } else {
            val chw = FloatBuffer.allocate(3 * WIDTH * HEIGHT)
            for (c in 0 until 3) {
                for (i in pixels.indices) {
                    val v = (pixels[i] shr (16 - 8 * c) and 0xFF) * SCALE
                    chw.put((v - MEAN[c]) / STD[c])
                }
            }
            chw.rewind()
            OnnxTensor.createTensor(env, chw, longArrayOf(1, 3, HEIGHT.toLong(), WIDTH.toLong()))
        }
        input.use {
            session.run(mapOf("{{INPUT_NAME}}" to it)).use { result ->
                @Suppress("UNCHECKED_CAST")
                var scores = (result[0].value as Array<FloatArray>)[0]
                if (SOFTMAX) {
                    val top = scores.maxOrNull() ?: 0f
                    val e = scores.map { exp((it - top).toDouble()).toFloat() }
                    val sum = e.sum()
                    scores = e.map { it / sum }.toFloatArray()
                }
                return scores.withIndex().sortedByDescending { it.value }.take(topK).map {
                    VapClass(it.index, labels.getOrElse(it.index) { "?" }, it.value)
                }
            }
        }
    }

    override fun close() = session.close()
}
