// Test, benchmark and demo helpers other packages may import: synthetic videos made by ffmpeg
// (no binary files in the repository).
export { makeTestVideo, makeTestAudio } from '../modules/pipeline/test-media.ts';
export { runTool } from '../modules/pipeline/run.ts';
export { seedDemoVideo, DEMO_VIDEO_SECONDS, type DemoVideoOutcome } from './demo.ts';
