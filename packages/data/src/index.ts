export { decodeGrey, decodeRgb, readBinaryMask, encodeGreyPng, ImageDecodeError, type GreyImage, type RgbImage, type BinaryMask } from './image-io';
