/**
 * @facedet/detector: face detection on CPU (MediaPipe BlazeFace full-range on onnxruntime-node) for images, videos
 * and animated GIF/WebP, with landmarks, crops and tracking of people across video frames.
 */
export * as Anchors from "./Anchors.js"
export * as BlazeFace from "./BlazeFace.js"
export * as Crop from "./Crop.js"
export * as Detection from "./Detection.js"
export * as DetectorError from "./DetectorError.js"
export * as FaceCheckModel from "./FaceCheckModel.js"
export * as FaceDetector from "./FaceDetector.js"
export * as FaceEmbedding from "./FaceEmbedding.js"
export * as Identity from "./Identity.js"
export * as ImageDecoder from "./ImageDecoder.js"
export * as MediaFormat from "./MediaFormat.js"
export * as ModelFile from "./ModelFile.js"
export * as Nms from "./Nms.js"
export * as RecognitionModel from "./RecognitionModel.js"
export * as SceneCut from "./SceneCut.js"
export * as SecondLook from "./SecondLook.js"
export * as Tiling from "./Tiling.js"
export * as Tracker from "./Tracker.js"
export * as VideoFrames from "./VideoFrames.js"
