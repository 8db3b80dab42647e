import { createContext, useContext } from 'react';
import { ApiClient } from '../lib/api';

export const ApiContext = createContext<ApiClient>(new ApiClient());
export const useApi = () => useContext(ApiContext);
