/** video/: the window plan of a video and the temporal alignment of a relative model's windows. */
export * from './windows.ts';
export * from './temporal-alignment.ts';
export * from './overwrite-merge.ts';
