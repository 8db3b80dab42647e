export * from './config';
export * from './records';
export * from './validation';
export * from './api';
export * from './inference-metadata';
